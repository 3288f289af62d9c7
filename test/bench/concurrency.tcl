# test/bench/concurrency.tcl --
#
#	Concurrency and memory (sourced by bench.tcl):
#	  4. one server (one interpreter, its own Wine process) and N
#	     concurrent -async clients in this process's event loop, each
#	     sending 64 KiB and checking the CRC of the 64 KiB echoed back;
#	     total time and throughput, TLS against plain sockets
#	  5. the server's resident memory per open idle connection with the N
#	     connections open (RSS with N - RSS with 0, over N), and the
#	     product's own buffer bytes per idle channel (schannel::stats)
#	The memory baseline (RSS with 0 connections) is taken once, from the
#	fresh server after a warm-up, before the first repetition: memory
#	freed by a repetition stays in the heap and would hide the cost of
#	the next one in a per-repetition baseline. Between repetitions the
#	server must have closed every connection before new ones come (Wine's
#	spurious EOF when a close overlaps an accept).

set echoSize 65536

# conc-client-ready S I: the connection (and handshake) is done: send.
proc conc-client-ready {s i} {
    fileevent $s writable {}
    if {[set err [fconfigure $s -error]] ne ""} { return [conc-fail $i "connect: $err"] }
    if {[catch {
        puts -nonewline $s "ECHO $::echoSize\n"
        puts -nonewline $s [conc-data $i]
        flush $s
    } msg]} { return [conc-fail $i "send: $msg"] }
    set ::conc(got,$i) ""
    fileevent $s readable [list conc-client-read $s $i]
}

# conc-client-read S I: collects the echo, checks its CRC when complete.
proc conc-client-read {s i} {
    if {[catch {read $s} data]} { return [conc-fail $i "read: $data"] }
    append ::conc(got,$i) $data
    if {[string length $::conc(got,$i)] >= $::echoSize} {
        fileevent $s readable {}
        if {[zlib crc32 $::conc(got,$i)] == [zlib crc32 [conc-data $i]]} {
            incr ::conc(ok)
        } else {
            lappend ::conc(errors) "$i: wrong checksum"
        }
        unset ::conc(got,$i)
        conc-done
    } elseif {[eof $s]} {
        conc-fail $i "EOF after [string length $::conc(got,$i)] bytes"
    }
}

# conc-data I: the 64 KiB client I sends (its number, then random bytes).
proc conc-data {i} {
    return [format %08d $i][string range $::echoBlock 8 end]
}
proc conc-fail {i msg} {
    lappend ::conc(errors) "$i: $msg"
    conc-done
}
proc conc-done {} {
    if {[incr ::conc(left) -1] == 0} { set ::conc(finished) 1 }
}

# server-open-wait CH: waits (up to 10 s) until the server has no
# connection open; returns its stats.
proc server-open-wait {ch} {
    for {set i 0} {$i < 100} {incr i} {
        set st [server-stats $ch]
        if {[dict get $st open] == 0} break
        after 100
    }
    return $st
}

# conc-series MODE N: REPS repetitions against one fresh server; returns
# a list of dicts (one a repetition) of seconds, mibps, ok, errors,
# rss_per_conn (KiB), and for TLS server_buf, client_buf and
# client_buf_polled (buffer_bytes per channel, from schannel::stats).
proc conc-series {mode n} {
    lassign [start-server $mode] ch port marker
    # Warm-up: one exchange, so that code and credentials are loaded
    # before the baseline memory figure.
    set s [connect $mode $port]
    fconfigure $s -translation binary
    puts -nonewline $s "ECHO 1\nx"
    flush $s
    read $s 1
    close $s
    server-open-wait $ch
    set rss0 [lindex [proc-info $marker] 0]
    set out {}
    for {set rep 0} {$rep < $::reps} {incr rep} {
        progress "concurrency $mode #$rep"
        lappend out [conc-rep $mode $n $ch $port $marker $rss0]
        server-open-wait $ch
    }
    stop-server $ch
    return $out
}

# conc-rep MODE N CH PORT MARKER RSS0: one repetition (see conc-series).
proc conc-rep {mode n ch port marker rss0} {
    array unset ::conc
    array set ::conc [list ok 0 errors {} left $n finished 0]
    set watchdog [after 120000 {set ::conc(finished) timeout}]
    set t0 [clock microseconds]
    set socks {}
    for {set i 0} {$i < $n} {incr i} {
        if {[catch {
            if {$mode eq "tls"} {
                set s [tls_socket -async localhost $port]
            } else {
                set s [socket -async 127.0.0.1 $port]
            }
        } msg]} {
            conc-fail $i "open: $msg"
            continue
        }
        fconfigure $s -blocking 0 -translation binary -buffersize 65536
        fileevent $s writable [list conc-client-ready $s $i]
        lappend socks $s
    }
    if {!$::conc(finished)} { vwait ::conc(finished) }
    set t [expr {([clock microseconds] - $t0) / 1e6}]
    after cancel $watchdog
    if {$::conc(finished) eq "timeout"} {
        lappend ::conc(errors) "timeout: $::conc(left) clients unfinished after 120 s"
    }

    # All connections are open and idle now (handshake and one exchange
    # done, the server's echo fully received); let the server settle.
    after 200
    set r [dict create seconds $t ok $::conc(ok) errors $::conc(errors) \
        mibps [expr {2.0 * $n * $::echoSize / 1048576 / $t}] \
        rss_per_conn [expr {double([lindex [proc-info $marker] 0] - $rss0) / $n}]]
    set st [server-stats $ch]
    if {[dict get $st open] != $n} {
        lappend ::conc(errors) "server has [dict get $st open] connections open, not $n"
    }
    if {$mode eq "tls"} {
        dict set r server_buf [expr {double([dict get $st buffer_bytes]) / max(1, [dict get $st channels])}]
        set st [schannel::stats]
        dict set r client_buf [expr {double([dict get $st buffer_bytes]) / max(1, [dict get $st channels])}]
        # The channel gives its storage back only when a read finds the
        # socket empty; show what one such read changes.
        foreach s $socks { catch {read $s} }
        set st [schannel::stats]
        dict set r client_buf_polled [expr {double([dict get $st buffer_bytes]) / max(1, [dict get $st channels])}]
    }
    dict set r errors $::conc(errors)
    foreach s $socks { catch {close $s} }
    return $r
}

# conc-figures N: items 4 and 5 and the buffer_bytes figure.
proc conc-figures {n} {
    global reps
    foreach mode {tls plain} {
        foreach key {seconds mibps rss_per_conn server_buf client_buf client_buf_polled} {
            set v($mode,$key) {}
        }
        foreach r [conc-series $mode $n] {
            dict for {key val} $r { lappend v($mode,$key) $val }
            if {[llength [dict get $r errors]]} {
                note "concurrency $mode: [dict get $r ok] of $n checksums right;\
                      [lrange [dict get $r errors] 0 4]"
            }
        }
    }
    set ok [expr {[tcl::mathop::+ {*}$v(tls,ok)]}]
    note "concurrency: $n clients x 64 KiB echoed, $ok of [expr {$n * $reps}] TLS\
          and [tcl::mathop::+ {*}$v(plain,ok)] of [expr {$n * $reps}] plain checksums right"
    report "concurrency, $n clients, total time, TLS" s [stats-of $v(tls,seconds)] \
        "plain sockets" [stats-of $v(plain,seconds)]
    report "concurrency, $n clients, throughput, TLS" MiB/s [stats-of $v(tls,mibps)] \
        "plain sockets" [stats-of $v(plain,mibps)]
    report "server RSS per idle connection ($n), TLS" KiB [stats-of $v(tls,rss_per_conn)] \
        "plain sockets" [stats-of $v(plain,rss_per_conn)]
    set budget [list 64 64 64]
    report "buffer_bytes per idle server channel" KiB \
        [lmap x [stats-of $v(tls,server_buf)] {expr {$x / 1024.0}}] "target at most" $budget
    report "buffer_bytes per idle client channel" KiB \
        [lmap x [stats-of $v(tls,client_buf)] {expr {$x / 1024.0}}] "target at most" $budget
    report "  the same after one more (empty) read" KiB \
        [lmap x [stats-of $v(tls,client_buf_polled)] {expr {$x / 1024.0}}] "target at most" $budget
}
