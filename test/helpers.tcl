# test/helpers.tcl --
#
#	Sourced by every test file (running under Wine): loads tcltest and
#	the schannel package, and gives helpers to drive native peers through
#	the peer helper (peerd.tcl), to load the test certificates and to
#	wait on events with a deadline.

package require tcltest 2.5
namespace import ::tcltest::*

set ::testDir [file dirname [file normalize [info script]]]
set ::topDir [file dirname $::testDir]
set ::auto_path [linsert $::auto_path 0 [file join $::topDir build lib]]
package require schannel
namespace import ::schannel::*

# Platform facts for constraints, read from the system below the tests and
# never from the product's own results (a regression must fail, not skip):
# - Schannel negotiates TLS 1.3 from Windows Server 2022 (build 20348) and
#   Windows 11 on; Wine 10 has none, whatever Windows version it reports.
# - Wine's Schannel server cannot sign with an ECDSA key (it looks keys up
#   in a legacy RSA container) nor hand over a client's certificate
#   (SEC_E_INTERNAL_ERROR); real Windows does both. See ENVIRONMENT.md.
# - Wine 10's chain engine ignores the CRL download timeout of a full-size
#   CERT_CHAIN_PARA (it reads it only from the older, smaller layout, and
#   then crashes after a download it gave up on): a CRL server that never
#   answers holds a revocation check for about 120 s instead of the 5 s
#   the product asks for. Windows applies the timeout.
package require registry
proc windows-build {} {
    registry get {HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion} \
        CurrentBuildNumber
}
proc running-under-wine {} {
    expr {![catch {registry keys {HKEY_LOCAL_MACHINE\Software\Wine}}]}
}
testConstraint platformHasTls13 [expr {[windows-build] >= 20348 && ![running-under-wine]}]
testConstraint platformLacksTls13 [expr {![testConstraint platformHasTls13]}]
testConstraint platformServesEcdsa [expr {![running-under-wine]}]
testConstraint platformReadsClientCerts [expr {![running-under-wine]}]
testConstraint platformCannotReadClientCerts [expr {[running-under-wine]}]
testConstraint platformTimesOutCrlDownloads [expr {![running-under-wine]}]

# Relative path of a test certificate file (the same for native peers and
# for Wine, both running in the project directory).
proc certfile {name} { return build/test-certs/$name }

proc readfile {path {binary 0}} {
    set f [open $path]
    if {$binary} { fconfigure $f -translation binary }
    set data [read $f]
    close $f
    return $data
}

# CPU seconds (user + system) this process used so far, from /proc under
# Wine; -1 where there is no /proc (real Windows).
proc cpu-seconds {} {
    if {[catch {readfile Z:/proc/self/stat} stat]} { return -1 }
    # Fields after the ")" closing the command name: utime and stime are
    # the 12th and 13th (clock ticks, 100 per second).
    set rest [split [string trim [string range $stat [expr {[string last ")" $stat] + 1}] end]]]
    expr {([lindex $rest 11] + [lindex $rest 12]) / 100.0}
}
testConstraint hasProcStat [expr {[cpu-seconds] >= 0}]

# Time limit for any single wait on the network, in ms.
set ::waitLimit 20000

source [file join $::testDir peerclient.tcl]

#
# Event waits with a deadline: wait-for VARNAME waits until the variable
# is set (by an event handler) and returns its value; it raises an error
# when ::waitLimit ms (or MS) pass first.
proc wait-for {varName {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    upvar #0 $varName var
    if {[info exists var]} { return $var }
    set wake {apply {args {set ::waitEvent 1}}}
    trace add variable var write $wake
    set timedOut 0
    set timer [after $ms {set ::waitEvent timeout}]
    while {![info exists var]} {
        vwait ::waitEvent
        if {$::waitEvent eq "timeout"} { set timedOut 1; break }
    }
    after cancel $timer
    trace remove variable var write $wake
    if {$timedOut} { error "timed out after $ms ms waiting for $varName" }
    return $var
}

# An -async client channel in non-blocking mode, once its handshake is
# done (the event loop runs meanwhile, so an in-process server can answer).
# Raises the negotiation error if it failed.
proc connect-async {host port args} {
    set s [tls_socket -async {*}$args $host $port]
    fconfigure $s -blocking 0
    fileevent $s writable [list set ::connected($s) 1]
    wait-for ::connected($s)
    fileevent $s writable {}
    unset ::connected($s)
    if {[catch {tls_handshake $s} msg opts]} {
        close $s
        return -options $opts $msg
    }
    return $s
}

# Waits (running the event loop) until schannel::stats equals $expected,
# e.g. after the in-process server side saw the client's close. Returns
# "same", or the difference seen when the wait limit ran out.
proc wait-stats {expected} {
    set deadline [expr {[clock milliseconds] + $::waitLimit}]
    while {[stats] ne $expected && [clock milliseconds] < $deadline} {
        after 10 {set ::statsTick 1}
        vwait ::statsTick
    }
    expr {[stats] eq $expected ? "same" : "expected $expected, got [stats]"}
}

# Waits (running the event loop) until no more than $n TLS channels are
# live; returns the count. In-process tests call it after closing a client,
# so that the server side has closed before the next connection is
# accepted: under Wine, a socket closed while the same process accepts
# another can hand its close event to the new socket (plain Tcl sockets
# show it too), which the new connection would read as an early EOF.
proc wait-channels {n} {
    set deadline [expr {[clock milliseconds] + $::waitLimit}]
    while {[dict get [stats] channels] > $n && [clock milliseconds] < $deadline} {
        after 5 {set ::channelsTick 1}
        vwait ::channelsTick
    }
    dict get [stats] channels
}

# An event-driven echo server for in-process tests (the accept callback of
# a product listener): echoes everything it reads, in binary; closes at EOF.
proc echoAccept {chan addr port} {
    fconfigure $chan -blocking 0 -translation binary -buffering none
    fileevent $chan readable [list echoRead $chan]
}
proc echoRead {chan} {
    set data [read $chan]
    if {$data ne ""} { puts -nonewline $chan $data }
    if {[eof $chan]} { close $chan }
}

# Starts test/peers/tls_sender.py in MODE; returns {id port}.
proc sender {mode count} {
    set port [peer::freeport]
    set id [peer::spawn python3 test/peers/tls_sender.py $mode $port \
                [certfile server.pem] [certfile server.key] $count]
    peer::waitfor $id READY
    return [list $id $port]
}

# Starts test/peers/tls_bulk.py as a server in MODE; returns {id port}.
proc bulk-server {mode args} {
    set port [peer::freeport]
    set id [peer::spawn python3 test/peers/tls_bulk.py server $mode $port \
                [certfile server.pem] [certfile server.key] {*}$args]
    peer::waitfor $id READY
    return [list $id $port]
}

# The {length crc} that a tls_bulk.py peer reported after WORD (RECEIVED
# or SENT), waiting up to ms.
proc peer-checksum {id word {ms {}}} {
    set out [peer::waitfor $id "$word \\d+ \\d+" $ms]
    regexp "$word (\\d+) (\\d+)" $out -> len crc
    return [list $len $crc]
}

# How the stream that a tls_bulk.py sink read ended: close_notify, or tcp
# (the connection closed without one).
proc peer-end {id} {
    regexp {END (\S+)} [peer::waitfor $id {END \S+}] -> how
    return $how
}

# Server credentials from the test PFX (RSA key, as Wine needs).
proc server-credentials {{pfx server.pfx}} {
    set store [cert_temporary_store -pfx [readfile [certfile $pfx] 1]]
    set cert [cert_store_find_certificate $store any]
    set creds [sspi_acquire_credentials \
        -credentials [sspi_schannel_credentials -certificates [list $cert]] \
        -role server]
    cert_release $cert
    cert_store_release $store
    return $creds
}

# Deterministic pseudo-random binary data of n bytes. The pattern repeats
# every 65521 bytes (a prime), so records (16 KiB) that were lost,
# duplicated or reordered change the checksum.
proc random-bytes {n {seed 1}} {
    expr {srand($seed)}
    set chunk ""
    for {set i 0} {$i < 65521} {incr i} {
        append chunk [binary format c [expr {int(rand() * 256) - 128}]]
    }
    set data [string repeat $chunk [expr {$n / 65521 + 1}]]
    return [string range $data 0 [expr {$n - 1}]]
}

# A checksum of binary data: its length and CRC-32.
proc checksum {data} {
    return [list [string length $data] [zlib crc32 $data]]
}
