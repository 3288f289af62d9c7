# examples/demo.tcl --
#
#	The demo: schannel TLS channels against real OpenSSL peers.
#	 1. A client fetches a page from `openssl s_server -www` with
#	    certificate verification on, and prints protocol and cipher.
#	 2. A server echoes what `openssl s_client` sends, and answers
#	    `curl --cacert` with an HTTP response echoing its request.
#	Run it with `make demo`, which prepares the certificates, the trusted
#	test CA and the native peers (through the peer helper).

set topDir [file dirname [file dirname [file normalize [info script]]]]
set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
package require schannel
namespace import schannel::*
proc certfile {name} { return build/test-certs/$name }
source [file join $topDir test peerclient.tcl]

set failures 0
proc step {text} { puts "\n== $text" }
proc check {ok what} {
    puts [format "   %-4s %s" [expr {$ok ? "ok" : "FAIL"}] $what]
    if {!$ok} { incr ::failures }
}

step "1. TLS client -> openssl s_server -www (verification on)"
lassign [peer::s_server -www] www wwwPort
set chan [tls_socket localhost $wwwPort]
set status [tls_status $chan]
puts "   connected to localhost:$wwwPort, certificate verified"
puts "   protocol [dict get $status protocol], cipher suite\
      [dict get $status cipher_suite] ([dict get $status cipher_strength] bits)"
puts "   server certificate: [dict get $status peer_subject]"
fconfigure $chan -translation crlf
puts $chan "GET / HTTP/1.0\n"
flush $chan
set statusLine [gets $chan]
set page [read $chan]
close $chan
puts "   response: $statusLine ([string length $page] bytes)"
check [string match "HTTP/1.0 200*" $statusLine] "HTTP status 200 over TLS"
peer::kill $www

step "2. TLS server <- openssl s_client and curl"
set store [cert_temporary_store -pfx [read [set f [open [certfile server.pfx] rb]]][close $f]]
set cert [cert_store_find_certificate $store subject_substring localhost]
set creds [sspi_acquire_credentials -role server \
    -credentials [sspi_schannel_credentials -certificates [list $cert]]]
cert_release $cert
cert_store_release $store

# Echo server: HTTP requests get an HTTP response that echoes the
# request; anything else is echoed line by line.
proc onAccept {chan addr port} {
    puts "   accepted a TLS connection from $addr:$port\
          ([dict get [tls_status $chan] protocol])"
    fconfigure $chan -blocking 0 -translation {auto lf} -buffering line
    fileevent $chan readable [list onRead $chan]
    set ::request($chan) {}
}
proc onRead {chan} {
    while {[gets $chan line] >= 0} {
        if {[string match "GET *" $line] || [llength $::request($chan)]} {
            lappend ::request($chan) $line
            if {$line eq ""} {
                set body "you sent:\n[join $::request($chan) \n]"
                puts -nonewline $chan "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: [string length $body]\r\n\r\n$body"
                close $chan
                return
            }
        } else {
            puts "   server got: $line"
            puts $chan "echo: $line"
        }
    }
    if {[eof $chan]} { close $chan }
}
set listener [tls_socket -server onAccept -credentials $creds -myaddr 127.0.0.1 0]
set port [lindex [fconfigure $listener -sockname] 2]
puts "   listening on 127.0.0.1:$port"

set client [peer::spawn openssl s_client -connect 127.0.0.1:$port \
    -servername localhost -CAfile [certfile ca.pem] -verify_return_error -quiet]
peer::send $client "hello from openssl s_client\n"
set out [peer::waitfor $client {echo: hello from openssl s_client}]
puts "   openssl s_client got: [string trim [lindex [split $out \n] end-1]]"
check 1 "openssl s_client verified the server and got its line echoed"
peer::kill $client

set curl [peer::spawn curl -sS --cacert [certfile ca.pem] https://localhost:$port/demo]
lassign [peer::wait $curl] code out
puts "   curl exit code $code, response:"
foreach line [split [string trim $out] \n] { puts "     | $line" }
check [expr {$code == 0 && [string match "*GET /demo HTTP/1.1*" $out]}] \
    "curl verified the server and got its request echoed"

close $listener
sspi_free_credentials $creds
puts ""
if {$failures} {
    puts "DEMO FAILED: $failures check(s) failed"
    exit 1
}
puts "DEMO OK: TLS client and server both worked against real OpenSSL peers"
