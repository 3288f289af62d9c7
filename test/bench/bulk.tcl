# test/bench/bulk.tcl --
#
#	Bulk throughput (sourced by bench.tcl):
#	  1. 64 MiB one way, product client -> product server in another Wine
#	     process, against a plain Tcl socket between the same processes;
#	     CPU seconds per GiB of both Wine processes and the wineserver
#	     (figure 6) from the same transfers
#	  2. against native OpenSSL: product client reading 64 MiB from
#	     openssl s_server -WWW against native openssl s_client reading the
#	     same (with curl, and a plain Tcl socket reading from a native
#	     sender, as references); product server sending 64 MiB to openssl
#	     s_client against openssl s_server sending it to s_client

proc connect {mode port} {
    if {$mode eq "tls"} { return [tls_socket localhost $port] }
    return [socket 127.0.0.1 $port]
}

# bulk MODE PORT CHUNK BUFFERING MARKERS: MiB/s of sending bulkSize bytes
# in CHUNK-byte writes. Appends the CPU seconds per GiB of the processes
# named by MARKERS (and the wineserver) to ::cpu(MODE,CHUNK).
proc bulk {mode port chunk buffering markers} {
    set s [connect $mode $port]
    fconfigure $s -translation binary -buffering $buffering -buffersize 65536
    set data [string repeat x $chunk]
    set cpu0 [cpu-ticks $markers]
    set t0 [clock microseconds]
    puts -nonewline $s "SINK $::bulkSize\n"
    for {set sent 0} {$sent < $::bulkSize} {incr sent $chunk} {
        puts -nonewline $s $data
    }
    flush $s
    gets $s
    set t [expr {([clock microseconds] - $t0) / 1e6}]
    set cpu [expr {double([cpu-ticks $markers] - $cpu0) / $::clkTck}]
    close $s
    lappend ::cpu($mode,$chunk) [expr {$cpu / ($::bulkSize / 1073741824.0)}]
    return [expr {$::bulkSize / 1048576.0 / $t}]
}

# bulk-figures TLSPORT TLSMARKER: items 1 and 6, against the TLS server
# at TLSPORT and a plain server started here.
proc bulk-figures {tlsPort tlsMarker} {
    global reps
    lassign [start-server plain] plainCh plainPort plainMarker
    set self $::env(BENCH_MARKER)
    foreach {chunk label} {65536 "64 KiB writes" 1024 "1 KiB writes -buffering full"} {
        report "bulk 64 MiB, $label, TLS" MiB/s \
            [repeat $reps {bulk tls $tlsPort $chunk full [list $self $tlsMarker]}] \
            "plain socket" \
            [repeat $reps {bulk plain $plainPort $chunk full [list $self $plainMarker]}]
    }
    report "CPU s/GiB, bulk 64 KiB writes, TLS" s/GiB [stats-of $::cpu(tls,65536)] \
        "plain socket" [stats-of $::cpu(plain,65536)]
    report "CPU s/GiB, bulk 1 KiB writes, TLS" s/GiB [stats-of $::cpu(tls,1024)] \
        "plain socket" [stats-of $::cpu(plain,1024)]
    stop-server $plainCh
}

# product-download PORT: MiB/s of the product client reading the data
# file from openssl s_server -WWW (handshake included, as for s_client).
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

# s_client-read PORT REQUEST: MiB/s of native openssl s_client sending
# REQUEST to PORT and reading until the server closes; timed by the shell
# around s_client (process start and handshake included), bytes counted.
proc s_client-read {port request} {
    # One line: the peer helper takes one request per line.
    set script {t0=$(date +%s%N); n=$(printf "$2" | openssl s_client -quiet\
        -connect 127.0.0.1:$1 -CAfile "$3" 2>/dev/null | wc -c);\
        t1=$(date +%s%N); echo "$n $((t1 - t0))"}
    set id [peer::spawn sh -c $script sh $port $request [certfile ca.pem]]
    lassign [peer::wait $id 120000] code out
    lassign $out n ns
    if {$code != 0 || ![string is integer -strict $n] || $n < $::bulkSize} {
        error "openssl s_client read failed: $out"
    }
    return [expr {$n / 1048576.0 / ($ns / 1e9)}]
}

# plain-download PORT: MiB/s of a plain Tcl socket in this process reading
# the data file from native_source.tcl (same -buffersize as the product).
proc plain-download {port} {
    set t0 [clock microseconds]
    set s [socket 127.0.0.1 $port]
    fconfigure $s -translation binary -buffersize 65536
    set n 0
    while {![eof $s]} { incr n [string length [read $s 65536]] }
    close $s
    set t [expr {([clock microseconds] - $t0) / 1e6}]
    if {$n < $::bulkSize} { error "short plain download: $n bytes" }
    return [expr {$n / 1048576.0 / $t}]
}

# curl-download PORT: MiB/s of native curl reading the data file.
proc curl-download {port} {
    set id [peer::spawn curl -sS --cacert [certfile ca.pem] -o /dev/null \
                -w "%{size_download} %{time_total}" https://localhost:$port/build/bench/data.bin]
    lassign [peer::wait $id 120000] code out
    lassign $out n t
    if {$code != 0 || $n < $::bulkSize} { error "curl failed: $out" }
    return [expr {$n / 1048576.0 / $t}]
}

# native-figures TLSPORT: item 2; TLSPORT is a product server.
proc native-figures {tlsPort} {
    global reps
    lassign [peer::s_server -WWW] www wwwPort
    set get {GET /build/bench/data.bin HTTP/1.0\r\n\r\n}
    set native [repeat $reps {s_client-read $wwwPort $get}]
    report "download 64 MiB from openssl s_server" MiB/s \
        [repeat $reps {product-download $wwwPort}] "native openssl s_client" $native
    report "  native curl, same file (reference)" MiB/s \
        [repeat $reps {curl-download $wwwPort}] "native openssl s_client" $native
    # The ceiling under Wine: a plain Tcl socket reading from a native
    # sender, no TLS at all.
    set src [peer::spawn tclsh test/bench/native_source.tcl build/bench/data.bin]
    set srcPort [string trim [peer::waitfor $src {^\d+\s}]]
    report "  plain Tcl socket from a native sender" MiB/s \
        [repeat $reps {plain-download $srcPort}] "native openssl s_client" $native
    peer::kill $src
    report "product server -> openssl s_client" MiB/s \
        [repeat $reps {s_client-read $tlsPort "SOURCE $::bulkSize\\n"}] \
        "s_server -> s_client" $native
    peer::kill $www
}
