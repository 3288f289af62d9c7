# test/bench/peer_server.tcl MODE ?MARKER? --
#
#	A benchmark server in its own Wine process. MODE: plain or tls.
#	MARKER is not used here: it is a unique word on the command line by
#	which the peer helper finds this process in /proc (memory, CPU time).
#	Prints its port on stdout, then serves connections, event-driven:
#	  "SINK N\n"    read N bytes, answer "done\n"
#	  "ECHO N\n"    read N bytes, send them back (concurrency benchmark)
#	  "SOURCE N\n"  send N bytes, then close (for openssl s_client)
#	  "PING\n"      answer "pong\n" (handshake benchmarks)
#	On stdin: "STATS" answers with one line, a dict: "open" (connections
#	open now), and for tls the keys of schannel::stats. Exits when its
#	stdin closes.

set mode [lindex $argv 0]
set topDir [file dirname [file dirname [file dirname [file normalize [info script]]]]]
# BENCH_LIB: another build's lib directory, to compare two builds.
set auto_path [linsert $auto_path 0 [expr {[info exists env(BENCH_LIB)]
    ? $env(BENCH_LIB) : [file join $topDir build lib]}]]

set open 0

proc onAccept {chan addr port} {
    incr ::open
    fconfigure $chan -blocking 0 -translation binary -buffersize 65536
    fileevent $chan readable [list onCommand $chan]
}
# done CHAN: closes a connection (counted for STATS).
proc done {chan} {
    incr ::open -1
    close $chan
}
proc onCommand {chan} {
    if {[gets $chan line] < 0} {
        if {[eof $chan]} { done $chan }
        return
    }
    lassign $line cmd n
    switch -- $cmd {
        PING {
            puts -nonewline $chan "pong\n"
            flush $chan
        }
        SINK - ECHO {
            set ::left($chan) $n
            set ::got($chan) ""
            fileevent $chan readable [list onData $chan $cmd]
        }
        SOURCE {
            # One transfer at a time: blocking writes measure the channel,
            # not the event loop.
            fileevent $chan readable {}
            fconfigure $chan -blocking 1
            set block [string repeat x 65536]
            for {set sent 0} {$sent + 65536 <= $n} {incr sent 65536} {
                puts -nonewline $chan $block
            }
            puts -nonewline $chan [string range $block 0 [expr {$n - $sent - 1}]]
            done $chan
        }
    }
}
# onData CHAN CMD: reads the body of SINK or ECHO.
proc onData {chan cmd} {
    set data [read $chan $::left($chan)]
    incr ::left($chan) [expr {-[string length $data]}]
    if {$cmd eq "ECHO"} { append ::got($chan) $data }
    if {$::left($chan) <= 0} {
        if {$cmd eq "ECHO"} {
            puts -nonewline $chan $::got($chan)
        } else {
            puts -nonewline $chan "done\n"
        }
        flush $chan
        unset ::got($chan) ::left($chan)
        fileevent $chan readable [list onCommand $chan]
    } elseif {[eof $chan]} {
        unset ::got($chan) ::left($chan)
        done $chan
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
    if {$line eq "STATS"} {
        set stats [dict create open $open]
        if {$mode eq "tls"} { set stats [dict merge $stats [schannel::stats]] }
        puts $stats
        flush stdout
    }
}
vwait forever
