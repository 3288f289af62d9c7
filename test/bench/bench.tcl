# test/bench/bench.tcl --
#
#	Benchmarks (run by `make bench`, under Wine). Every figure is printed
#	next to a baseline measured in the same run, as a ratio, because these
#	machines are noisy: median of REPS repetitions, with min and max.
#	  1. bulk: 64 MiB one way, product client -> product server in another
#	     Wine process, against a plain Tcl socket between the same processes
#	  2. native: product client reading 64 MiB from openssl s_server -WWW,
#	     against native curl (OpenSSL) reading the same file
#	  3. handshakes/s: sequential connect + handshake + 1 exchange + close,
#	     against plain connects/s
#	Writes build/bench/results.json.

set topDir [file dirname [file dirname [file dirname [file normalize [info script]]]]]
set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
package require schannel
namespace import schannel::*
proc certfile {name} { return build/test-certs/$name }
source [file join $topDir test peerclient.tcl]

set reps [expr {[info exists env(BENCH_REPS)] ? $env(BENCH_REPS) : 5}]
set bulkSize [expr {64 * 1024 * 1024}]
set handshakes [expr {[info exists env(BENCH_HANDSHAKES)] ? $env(BENCH_HANDSHAKES) : 200}]
set results {}

proc start-server {mode} {
    set ch [open |[list [info nameofexecutable] test/bench/peer_server.tcl $mode] r+]
    gets $ch port
    return [list $ch $port]
}
proc connect {mode port} {
    if {$mode eq "tls"} { return [tls_socket localhost $port] }
    return [socket 127.0.0.1 $port]
}
proc stats-of {values} {
    set v [lsort -real $values]
    return [list [lindex $v [expr {[llength $v] / 2}]] [lindex $v 0] [lindex $v end]]
}
proc repeat {n script} {
    set out {}
    for {set i 0} {$i < $n} {incr i} { lappend out [uplevel 1 $script] }
    return [stats-of $out]
}

# MiB/s of sending `size` bytes in `chunk`-byte writes.
proc bulk {mode port chunk buffering} {
    set s [connect $mode $port]
    fconfigure $s -translation binary -buffering $buffering -buffersize 65536
    puts -nonewline $s "SINK $::bulkSize\n"
    flush $s
    set data [string repeat x $chunk]
    set t0 [clock microseconds]
    for {set sent 0} {$sent < $::bulkSize} {incr sent $chunk} {
        puts -nonewline $s $data
    }
    flush $s
    gets $s
    set t [expr {([clock microseconds] - $t0) / 1e6}]
    close $s
    return [expr {$::bulkSize / 1048576.0 / $t}]
}

# Connections per second: connect (+ handshake), one PING/pong, close.
proc connects {mode port n} {
    set t0 [clock microseconds]
    for {set i 0} {$i < $n} {incr i} {
        set s [connect $mode $port]
        fconfigure $s -translation binary
        puts -nonewline $s "PING\n"
        flush $s
        gets $s
        close $s
    }
    return [expr {$n / (([clock microseconds] - $t0) / 1e6)}]
}

proc report {name unit figure baseName baseline} {
    lassign $figure med lo hi
    lassign $baseline bmed blo bhi
    set ratio [expr {$med / $bmed}]
    puts [format "%-44s %8.1f %-6s (min %.1f max %.1f)  vs %-22s %8.1f  ratio %.2f" \
              $name $med $unit $lo $hi $baseName $bmed $ratio]
    flush stdout
    lappend ::results [dict create name $name unit $unit median $med min $lo max $hi \
        baseline_name $baseName baseline_median $bmed baseline_min $blo \
        baseline_max $bhi ratio $ratio]
}

puts "schannel benchmarks: $reps repetitions, medians (min, max)\n"
lassign [start-server plain] plainCh plainPort
lassign [start-server tls] tlsCh tlsPort

report "bulk 64 MiB, 64 KiB writes, TLS" MiB/s \
    [repeat $reps {bulk tls $tlsPort 65536 full}] \
    "plain socket" [repeat $reps {bulk plain $plainPort 65536 full}]
report "bulk 64 MiB, 1 KiB writes -buffering full, TLS" MiB/s \
    [repeat $reps {bulk tls $tlsPort 1024 full}] \
    "plain socket" [repeat $reps {bulk plain $plainPort 1024 full}]

# Against native OpenSSL: the same 64 MiB file from openssl s_server -WWW.
lassign [peer::s_server -WWW] www wwwPort
proc product-download {port} {
    set t0 [clock microseconds]
    set s [tls_socket localhost $port]
    fconfigure $s -translation binary -buffersize 65536
    puts -nonewline $s "GET /build/bench/data.bin HTTP/1.0\r\n\r\n"
    flush $s
    set n 0
    while {![eof $s]} { incr n [string length [read $s 65536]] }
    close $s
    set t [expr {([clock microseconds] - $t0) / 1e6}]
    if {$n < $::bulkSize} { error "short download: $n bytes" }
    return [expr {$n / 1048576.0 / $t}]
}
proc native-download {port} {
    set id [peer::spawn curl -sS --cacert [certfile ca.pem] -o /dev/null \
                -w "%{size_download} %{time_total}" https://localhost:$port/build/bench/data.bin]
    lassign [peer::wait $id 120000] code out
    lassign $out n t
    if {$code != 0 || $n < $::bulkSize} { error "curl failed: $out" }
    return [expr {$n / 1048576.0 / $t}]
}
report "download 64 MiB from openssl s_server" MiB/s \
    [repeat $reps {product-download $wwwPort}] \
    "native curl" [repeat $reps {native-download $wwwPort}]
peer::kill $www

report "handshakes/s, product -> product" conn/s \
    [repeat $reps {connects tls $tlsPort $handshakes}] \
    "plain connects/s" [repeat $reps {connects plain $plainPort $handshakes}]

lassign [peer::s_server] srv srvPort
proc handshakes-openssl {port n} {
    set t0 [clock microseconds]
    for {set i 0} {$i < $n} {incr i} { close [tls_socket localhost $port] }
    return [expr {$n / (([clock microseconds] - $t0) / 1e6)}]
}
proc plain-connects-openssl {port n} {
    set t0 [clock microseconds]
    for {set i 0} {$i < $n} {incr i} { close [socket 127.0.0.1 $port] }
    return [expr {$n / (([clock microseconds] - $t0) / 1e6)}]
}
report "handshakes/s, product -> openssl s_server" conn/s \
    [repeat $reps {handshakes-openssl $srvPort $handshakes}] \
    "plain connects/s" [repeat $reps {connects plain $plainPort $handshakes}]
peer::kill $srv

close $plainCh
close $tlsCh

set json "\[\n"
set first 1
foreach r $results {
    if {!$first} { append json ",\n" }
    set first 0
    set fields {}
    dict for {k v} $r {
        if {[string is double -strict $v]} {
            lappend fields "\"$k\": [format %.3f $v]"
        } else {
            lappend fields "\"$k\": \"$v\""
        }
    }
    append json "  {[join $fields {, }]}"
}
append json "\n\]\n"
file mkdir build/bench
set f [open build/bench/results.json w]
puts -nonewline $f $json
close $f
puts "\nwrote build/bench/results.json"
