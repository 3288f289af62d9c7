# examples/https_get.tcl --
#
#	Fetches a URL over HTTPS with Tcl's http package and schannel, with
#	certificate verification on (chain to a root trusted in the Windows
#	certificate stores, and the host name), and prints the HTTP status,
#	the TLS protocol and cipher, and the size of the body.
#
#	Usage: tclsh https_get.tcl ?URL? ?OUTFILE?
#	  URL      default https://www.example.com/
#	  OUTFILE  write the body there (binary); default: do not keep it
#	Exit code 0 on HTTP 2xx, 1 otherwise (also when verification fails).

# Run from the source tree, use the package built there.
set topDir [file dirname [file dirname [file normalize [info script]]]]
if {[file isdirectory [file join $topDir build lib]]} {
    set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
}
package require schannel
package require http

lassign $argv url outFile
if {$url eq ""} { set url https://www.example.com/ }

# The https socket command. The http package asks for -async; this one
# negotiates before returning instead, so that the session can be
# recorded while the channel is open (the http package closes it).
proc openTls {args} {
    set args [lsearch -all -inline -not -exact $args -async]
    set chan [schannel::tls_socket {*}$args]
    set ::session [schannel::tls_status $chan]
    return $chan
}
http::register https 443 openTls

if {[catch {http::geturl $url -binary 1 -timeout 30000} token]} {
    puts stderr "error: $token"
    exit 1
}
if {[http::status $token] ne "ok"} {
    puts stderr "error: [http::status $token] [http::error $token]"
    exit 1
}
set body [http::data $token]
puts "status:   [http::code $token]"
puts "protocol: [dict get $::session protocol]"
puts "cipher:   [dict get $::session cipher_suite]\
      ([dict get $::session cipher_strength] bits)"
puts "server:   [dict get $::session peer_subject]"
puts "bytes:    [string length $body]"
if {$outFile ne ""} {
    set f [open $outFile wb]
    puts -nonewline $f $body
    close $f
}
set ncode [http::ncode $token]
http::cleanup $token
exit [expr {$ncode >= 200 && $ncode < 300 ? 0 : 1}]
