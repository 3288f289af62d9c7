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

# Time limit for any single wait on the network, in ms.
set ::waitLimit 20000

#
# The peer helper client. Calls run the event loop while they wait, so
# product servers in this process keep serving.
#
namespace eval peer {
    variable sock {}
    variable replies {}
}

proc peer::connect {} {
    variable sock
    if {$sock ne ""} return
    if {![info exists ::env(SCHANNEL_PEERD)]} {
        error "SCHANNEL_PEERD is not set: run the tests with 'make test'"
    }
    set sock [socket 127.0.0.1 $::env(SCHANNEL_PEERD)]
    fconfigure $sock -buffering line -translation lf -blocking 0
    fileevent $sock readable [namespace code onReply]
}

proc peer::onReply {} {
    variable sock
    variable replies
    if {[gets $sock line] >= 0} {
        lappend replies $line
    } elseif {[eof $sock]} {
        lappend replies [list error "peer helper closed the connection"]
        close $sock
        set sock {}
    }
}

# peer::call REQUEST...: sends one request, returns its result.
proc peer::call {args} {
    variable sock
    variable replies
    connect
    puts $sock $args
    while {[llength $replies] == 0} {
        vwait [namespace current]::replies
    }
    set replies [lassign $replies reply]
    lassign $reply status result
    if {$status ne "ok"} { error "peer helper: $result" }
    return $result
}

proc peer::freeport {} { call freeport }
proc peer::spawn {args} { call spawn $args }
proc peer::send {id data} { call send $id [binary encode base64 $data] }
proc peer::closein {id} { call closein $id }
proc peer::kill {id} { call kill $id }
proc peer::output {id} {
    lassign [call output $id] data eof
    return [binary decode base64 $data]
}
# peer::waitfor ID REGEXP ?MS?: the output once it matches; error if the
# process ends or the time runs out first.
proc peer::waitfor {id re {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    lassign [call waitfor $id $re $ms] how data
    set out [binary decode base64 $data]
    if {$how ne "matched"} {
        error "peer output did not match \"$re\" ($how): $out"
    }
    return $out
}
# peer::wait ID ?MS?: {exitcode output} once the process ended.
proc peer::wait {id {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    lassign [call wait $id $ms] code data
    return [list $code [binary decode base64 $data]]
}

# openssl s_server on a free port; returns {id port}. Extra options are
# appended (e.g. -www, -Verify 1 -CAfile ...).
proc peer::s_server {args} {
    for {set try 0} {$try < 5} {incr try} {
        set port [freeport]
        set id [spawn openssl s_server -accept 127.0.0.1:$port \
            -cert [certfile server.pem] -key [certfile server.key] {*}$args]
        if {![catch {waitfor $id {ACCEPT}}]} {
            return [list $id $port]
        }
        kill $id
    }
    error "could not start openssl s_server"
}

#
# Event waits with a deadline: wait-for VARNAME waits until the variable
# is set (by an event handler), failing the test after ::waitLimit ms.
#
proc wait-for {varName {ms {}}} {
    if {$ms eq ""} { set ms $::waitLimit }
    upvar #0 $varName var
    if {[info exists var]} { return $var }
    set timer [after $ms [list set $varName "timeout after $ms ms"]]
    vwait $varName
    after cancel $timer
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

# Deterministic pseudo-random binary data of n bytes.
proc random-bytes {n {seed 1}} {
    expr {srand($seed)}
    set chunk ""
    for {set i 0} {$i < 4096} {incr i} {
        append chunk [binary format c [expr {int(rand() * 256) - 128}]]
    }
    set data [string repeat $chunk [expr {$n / 4096 + 1}]]
    return [string range $data 0 [expr {$n - 1}]]
}

# A checksum of binary data: its length and CRC-32.
proc checksum {data} {
    return [list [string length $data] [zlib crc32 $data]]
}
