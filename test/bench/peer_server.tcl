# test/bench/peer_server.tcl MODE --
#
#	A benchmark server in its own Wine process. MODE: plain or tls.
#	Prints its port on stdout, then serves connections forever:
#	  "SINK N\n"  read N bytes, answer "done\n"
#	  "PING\n"    answer "pong\n" (handshake benchmarks)
#	Exits when its stdin closes.

set mode [lindex $argv 0]
set topDir [file dirname [file dirname [file dirname [file normalize [info script]]]]]
set auto_path [linsert $auto_path 0 [file join $topDir build lib]]

proc onAccept {chan addr port} {
    fconfigure $chan -blocking 0 -translation binary -buffersize 65536
    fileevent $chan readable [list onCommand $chan]
}
proc onCommand {chan} {
    if {[gets $chan line] < 0} {
        if {[eof $chan]} { close $chan }
        return
    }
    lassign $line cmd n
    if {$cmd eq "PING"} {
        puts -nonewline $chan "pong\n"
        flush $chan
    } elseif {$cmd eq "SINK"} {
        set ::left($chan) $n
        fileevent $chan readable [list onSink $chan]
    }
}
proc onSink {chan} {
    set data [read $chan $::left($chan)]
    incr ::left($chan) [expr {-[string length $data]}]
    if {$::left($chan) <= 0} {
        puts -nonewline $chan "done\n"
        flush $chan
        fileevent $chan readable [list onCommand $chan]
    } elseif {[eof $chan]} {
        close $chan
    }
}

if {$mode eq "tls"} {
    package require schannel
    namespace import schannel::*
    set f [open build/test-certs/server.pfx rb]
    set store [cert_temporary_store -pfx [read $f]]
    close $f
    set cert [cert_store_find_certificate $store any]
    set creds [sspi_acquire_credentials -role server \
        -credentials [sspi_schannel_credentials -certificates [list $cert]]]
    set listener [tls_socket -server onAccept -credentials $creds -myaddr 127.0.0.1 0]
} else {
    set listener [socket -server onAccept -myaddr 127.0.0.1 0]
}
puts [lindex [fconfigure $listener -sockname] 2]
flush stdout
fileevent stdin readable {
    if {[gets stdin line] < 0} { exit 0 }
}
vwait forever
