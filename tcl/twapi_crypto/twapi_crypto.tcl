# twapi_crypto.tcl --
#
#	Compatibility package: makes the schannel commands available under
#	the names TWAPI documents for its TLS channels (::twapi::tls_socket,
#	::twapi::sspi_acquire_credentials, ::twapi::cert_tls_verify, ...), so
#	scripts written for TWAPI's TLS channels run unchanged.

package require schannel

namespace eval ::twapi {
    foreach cmd [info commands ::schannel::*] {
        set name [namespace tail $cmd]
        if {[string match _* $name] || $name eq "tls_background_error"} continue
        interp alias {} ::twapi::$name {} $cmd
        namespace export $name
    }
    unset cmd name

    # TWAPI scripts customise twapi::tls_background_error, so it is a
    # procedure of its own (an alias would be replaced, unseen by the
    # extension), and schannel's default hands the errors to it. A script
    # that redefined schannel's own keeps its definition.
    proc tls_background_error {msg opts} {
        return -options $opts $msg
    }
    namespace export tls_background_error
    if {[string trim [info body ::schannel::tls_background_error]]
            eq [string trim [info body ::twapi::tls_background_error]]} {
        proc ::schannel::tls_background_error {msg opts} {
            tailcall ::twapi::tls_background_error $msg $opts
        }
    }
}

package provide twapi_crypto 4.0.61
