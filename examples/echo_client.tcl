# examples/echo_client.tcl --
#
#	Client of echo_server.tcl: sends each message as a line over TLS
#	and prints what comes back. The server certificate is verified
#	against the Windows certificate stores and the host name.
#
#	Usage: tclsh echo_client.tcl ?-peersubject NAME? HOST PORT MESSAGE...
#	  -peersubject  the name the certificate must carry (default HOST)
#	Prints "echo: LINE" for each reply. Exit code 1 when the connection
#	or the verification fails.

set topDir [file dirname [file dirname [file normalize [info script]]]]
if {[file isdirectory [file join $topDir build lib]]} {
    set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
}
package require schannel

set tlsOpts {}
if {[lindex $argv 0] eq "-peersubject"} {
    set tlsOpts [lrange $argv 0 1]
    set argv [lrange $argv 2 end]
}
set messages [lassign $argv host port]
if {$port eq ""} {
    puts stderr "usage: echo_client.tcl ?-peersubject NAME? HOST PORT MESSAGE..."
    exit 2
}

if {[catch {schannel::tls_socket {*}$tlsOpts $host $port} chan]} {
    puts stderr "error: $chan"
    exit 1
}
fconfigure $chan -translation {auto lf}
foreach message $messages {
    puts $chan $message
    flush $chan
    puts "echo: [gets $chan]"
}
close $chan
