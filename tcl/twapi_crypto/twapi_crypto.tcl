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
        if {[string match _* $name]} continue
        interp alias {} ::twapi::$name {} $cmd
        namespace export $name
    }
    unset cmd name
}

package provide twapi_crypto 4.0.61
