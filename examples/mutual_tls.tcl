# examples/mutual_tls.tcl --
#
#	Mutual TLS: both sides show a certificate.
#	  server mode: a TLS server that asks for a client certificate and
#	    accepts only clients whose certificate a verifier approves
#	    (chain to a trusted root with the clientAuth usage, and a subject
#	    containing the text given); it greets accepted clients by name.
#	  client mode: connects with a client certificate from a PFX file
#	    (the server is verified as usual), sends a line and prints the
#	    server's first line.
#
#	Usage:
#	  tclsh mutual_tls.tcl server ?-port N? ?-pfx FILE? ?-subject TEXT?
#	  tclsh mutual_tls.tcl client ?-pfx FILE? HOST PORT
#	  -port     server port on 127.0.0.1 (default 8443; 0 picks one)
#	  -pfx      the PFX with this side's certificate and key (defaults:
#	            build/test-certs/server.pfx or client.pfx, from `make test`)
#	  -subject  text the client certificate's subject must contain
#	            (default: any subject)
#	The server prints "listening on PORT", then "accepted SUBJECT" or
#	"rejected: REASON" for each client; it stops when stdin ends.

set topDir [file dirname [file dirname [file normalize [info script]]]]
if {[file isdirectory [file join $topDir build lib]]} {
    set auto_path [linsert $auto_path 0 [file join $topDir build lib]]
}
package require schannel
namespace import schannel::*

# Credentials for ROLE (client or server) with the certificate of a PFX.
proc pfx-credentials {role file} {
    set f [open $file rb]
    set store [cert_temporary_store -pfx [read $f]]
    close $f
    set cert [cert_store_find_certificate $store any]
    set creds [sspi_acquire_credentials -role $role \
                   -credentials [sspi_schannel_credentials -certificates [list $cert]]]
    cert_release $cert
    cert_store_release $store
    return $creds
}

# The server's verifier: called with the channel and the security
# context once the handshake is done; true accepts the client.
proc verify-client {wanted chan ctx} {
    set cert [sspi_remote_cert $ctx]
    if {$cert eq ""} { error "no client certificate" }
    set subject [cert_subject_name $cert]
    set verdict [cert_tls_verify $cert -usage client]
    cert_release $cert
    if {$verdict ne "ok"} { error "client certificate not trusted: $verdict" }
    if {[string first $wanted $subject] < 0} {
        error "client \"$subject\" is not allowed"
    }
    set ::subject($chan) $subject
    return 1
}

proc accept {chan addr port} {
    puts "accepted $::subject($chan)"
    puts $chan "hello $::subject($chan)"
    unset ::subject($chan)
    close $chan
}

# A client the verifier refused never reaches accept; its error comes here.
proc schannel::tls_background_error {msg opts} {
    puts "rejected: $msg"
}

proc run-server {argv} {
    set opts [dict create -port 8443 -pfx build/test-certs/server.pfx -subject ""]
    foreach {name value} $argv { dict set opts $name $value }
    set creds [pfx-credentials server [dict get $opts -pfx]]
    set listener [tls_socket -server accept -credentials $creds -requestclientcert \
                      -verifier [list verify-client [dict get $opts -subject]] \
                      -myaddr 127.0.0.1 [dict get $opts -port]]
    puts "listening on [lindex [fconfigure $listener -sockname] 2]"
    flush stdout
    fconfigure stdout -buffering line
    fileevent stdin readable {
        if {[gets stdin line] < 0 && [eof stdin]} { set ::done 1 }
    }
    vwait ::done
    close $listener
}

proc run-client {argv} {
    set pfx build/test-certs/client.pfx
    if {[lindex $argv 0] eq "-pfx"} { set argv [lassign $argv - pfx] }
    lassign $argv host port
    set creds [pfx-credentials client $pfx]
    set chan [tls_socket -credentials $creds $host $port]
    puts "connected, server [dict get [tls_status $chan] peer_subject]"
    puts $chan "hello from the client"
    flush $chan
    puts "server: [gets $chan]"
    close $chan
}

switch -- [lindex $argv 0] {
    server { run-server [lrange $argv 1 end] }
    client { run-client [lrange $argv 1 end] }
    default {
        puts stderr "usage: mutual_tls.tcl server|client ?options? ..."
        exit 2
    }
}
