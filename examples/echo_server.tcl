# examples/echo_server.tcl --
#
#	A TLS echo server: sends back every line a client sends. Its
#	certificate comes from a PFX file, or from a Windows certificate
#	store (with its private key, e.g. imported into "Personal").
#
#	Usage: tclsh echo_server.tcl ?-port N? ?-pfx FILE? ?-password PW?
#	                             ?-store NAME -subject TEXT?
#	  -port     port to listen on, on 127.0.0.1 (default 8443; 0 picks one)
#	  -pfx      PFX (PKCS #12) file with certificate and RSA key
#	            (default build/test-certs/server.pfx, made by `make test`)
#	  -password the PFX password (default empty)
#	  -store    a CurrentUser system store name such as MY, instead of -pfx
#	  -subject  text contained in the subject of the certificate to use
#	Prints "listening on PORT" once ready. Stops when its standard input
#	ends (Ctrl-Z Enter in a Windows console, Ctrl-D elsewhere).

set topDir [file dirname [file dirname [file normalize [info script]]]]
if {[file isdirectory [file join $topDir build lib]]} {
    set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
}
package require schannel
namespace import schannel::*

set opts [dict create -port 8443 -pfx build/test-certs/server.pfx \
              -password "" -store "" -subject ""]
foreach {name value} $argv {
    if {![dict exists $opts $name]} { error "unknown option $name" }
    dict set opts $name $value
}

# server-credentials STORE TYPE TERM: credentials for the first certificate
# of STORE that matches and whose private key can be used (a store often
# holds several matches, e.g. an expired one or one without its key).
proc server-credentials {store type term} {
    set cert [cert_store_find_certificate $store $type $term]
    set why "no certificate matches"
    while {$cert ne ""} {
        if {![catch {sspi_acquire_credentials -role server -credentials \
                         [sspi_schannel_credentials -certificates [list $cert]]} creds]} {
            cert_release $cert
            return $creds
        }
        set why $creds
        set next [cert_store_find_certificate $store $type $term $cert]
        cert_release $cert
        set cert $next
    }
    error "no usable server certificate ($why)"
}

# The server certificate: from the named system store, or from the PFX.
if {[dict get $opts -store] ne ""} {
    set store [cert_system_store_open [dict get $opts -store] user]
    set creds [server-credentials $store subject_substring [dict get $opts -subject]]
} else {
    set f [open [dict get $opts -pfx] rb]
    set store [cert_temporary_store -pfx [read $f] -password [dict get $opts -password]]
    close $f
    set creds [server-credentials $store any {}]
}
cert_store_release $store

# Called once a client completed the TLS handshake.
proc accept {chan addr port} {
    puts "connection from $addr:$port ([dict get [tls_status $chan] protocol])"
    fconfigure $chan -blocking 0 -buffering line -translation {auto lf}
    fileevent $chan readable [list echo $chan]
}

# Echoes complete lines; closes at EOF.
proc echo {chan} {
    while {[gets $chan line] >= 0} {
        puts $chan $line
    }
    if {[eof $chan]} { close $chan }
}

# A failed handshake does not stop the server: report it and go on.
proc schannel::tls_background_error {msg opts} {
    puts "handshake failed: $msg"
}

set listener [tls_socket -server accept -credentials $creds \
                  -myaddr 127.0.0.1 [dict get $opts -port]]
puts "listening on [lindex [fconfigure $listener -sockname] 2]"
flush stdout
fconfigure stdout -buffering line
fileevent stdin readable {
    if {[gets stdin line] < 0 && [eof stdin]} { set done 1 }
}
vwait done
close $listener
sspi_free_credentials $creds
