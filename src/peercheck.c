/*
 * peercheck.c --
 *
 *	What makes a negotiated TLS session acceptable, checked when a
 *	handshake completes (PeerCheck_Open) and again after every
 *	renegotiation or TLS 1.3 post-handshake exchange
 *	(PeerCheck_Renegotiated): the protocol and cipher strength the
 *	credentials allow, then the script's verifier or, on a client without
 *	one, automatic verification of the server certificate.
 */

#include <stdio.h>
#include "channelInt.h"

/*
 * CheckStrength --
 *	Fails the channel when the negotiated cipher strength is outside the
 *	credentials' -cipherstrength bounds (some platforms ignore them).
 *	Returns 1 when acceptable.
 */
static int
CheckStrength(TlsChannel *tc, DWORD bits)
{
    DWORD lo = tc->cred->minStrength, hi = tc->cred->maxStrength;
    if (bits == 0 || (bits >= lo && (hi == 0 || bits <= hi))) {
	return 1;	/* Unknown (0) or within bounds. */
    }
    Tcl_Obj *message = Tcl_ObjPrintf("SSL/TLS negotiation failed: the peer"
	    " negotiated a %lu-bit cipher, outside the credentials'"
	    " -cipherstrength %lu..%lu", (unsigned long) bits,
	    (unsigned long) lo, (unsigned long) hi);
    Tcl_Obj *code[4] = {
	Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj("HANDSHAKE", -1),
	Tcl_NewStringObj("CIPHERSTRENGTH", -1), Tcl_NewLongObj((long) bits)
    };
    TlsChannel_SetFailure(tc, message, Tcl_NewListObj(4, code));
    return 0;
}

/*
 * CheckProtocol --
 *	Fails the channel when the platform negotiated a protocol version (or
 *	cipher strength) the credentials did not allow (some platforms ignore
 *	the restriction). Returns 1 when acceptable.
 */
static int
CheckProtocol(TlsChannel *tc)
{
    SecPkgContext_ConnectionInfo info;
    if (QueryContextAttributesW(&tc->engine.ctx, SECPKG_ATTR_CONNECTION_INFO,
	    &info) != SEC_E_OK) {
	return 1;	/* Unknown: nothing to hold against the peer. */
    }
    if (info.dwProtocol & tc->cred->protocols) {
	return CheckStrength(tc, info.dwCipherStrength);
    }
    const char *name = Creds_ProtocolName(info.dwProtocol);
    Tcl_Obj *message = Tcl_ObjPrintf("SSL/TLS negotiation failed: the peer"
	    " negotiated %s, which the credentials do not allow",
	    name ? name : "an unknown protocol");
    Tcl_Obj *code[4] = {
	Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj("HANDSHAKE", -1),
	Tcl_NewStringObj("PROTOCOL", -1), Tcl_NewStringObj(name ? name : "?", -1)
    };
    TlsChannel_SetFailure(tc, message, Tcl_NewListObj(4, code));
    return 0;
}

/*
 * RunVerifier --
 *	Calls {*}verifier chan context at global level. Returns 1 when it
 *	returned true; else stores the failure (its own error passes through).
 */
static int
RunVerifier(TlsChannel *tc)
{
    Tcl_Interp *interp = tc->interp;
    Tcl_Obj *cmd = Tcl_DuplicateObj(tc->verifier);
    Tcl_IncrRefCount(cmd);
    Tcl_ListObjAppendElement(NULL, cmd,
	    Tcl_NewStringObj(Tcl_GetChannelName(tc->self), -1));
    Tcl_ListObjAppendElement(NULL, cmd, tc->contextName);
    Tcl_Preserve(interp);
    Tcl_Obj *saved = Tcl_GetObjResult(interp);
    Tcl_IncrRefCount(saved);
    int code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(cmd);
    int ok = 0, accepted = 0;
    if (code != TCL_OK && code != TCL_ERROR) {
	Tcl_Obj *msg = Tcl_ObjPrintf("SSL/TLS negotiation failed. Verifier"
		" callback \"%s\" returned with code %d instead of a boolean.",
		Tcl_GetString(tc->verifier), code);
	Tcl_Obj *ec[4] = {
	    Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj("VERIFY", -1),
	    Tcl_NewStringObj("NOTBOOLEAN", -1), Tcl_DuplicateObj(msg)
	};
	TlsChannel_SetFailure(tc, msg, Tcl_NewListObj(4, ec));
    } else if (code == TCL_OK) {
	if (Tcl_GetBooleanFromObj(NULL, Tcl_GetObjResult(interp), &accepted)
		!= TCL_OK) {
	    Tcl_Obj *msg = Tcl_ObjPrintf("SSL/TLS negotiation failed. Verifier"
		    " callback \"%s\" returned a non-boolean value \"%s\".",
		    Tcl_GetString(tc->verifier),
		    Tcl_GetString(Tcl_GetObjResult(interp)));
	    Tcl_Obj *ec[4] = {
		Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj("VERIFY", -1),
		Tcl_NewStringObj("NOTBOOLEAN", -1), Tcl_DuplicateObj(msg)
	    };
	    TlsChannel_SetFailure(tc, msg, Tcl_NewListObj(4, ec));
	} else if (!accepted) {
	    TlsChannel_FailSimple(tc, "VERIFY", "REJECTED", "SSL/TLS"
		    " negotiation failed. Verifier callback returned false.");
	} else {
	    ok = 1;
	}
    } else {
	Tcl_Obj *options = Tcl_GetReturnOptions(interp, code);
	Tcl_Obj *key = Tcl_NewStringObj("-errorcode", -1), *ec = NULL;
	Tcl_IncrRefCount(options);
	Tcl_IncrRefCount(key);
	Tcl_DictObjGet(NULL, options, key, &ec);
	TlsChannel_SetFailure(tc, Tcl_DuplicateObj(Tcl_GetObjResult(interp)),
		ec ? ec : Tcl_NewStringObj("NONE", -1));
	Tcl_DecrRefCount(key);
	Tcl_DecrRefCount(options);
    }
    Tcl_SetObjResult(interp, saved);
    Tcl_DecrRefCount(saved);
    Tcl_Release(interp);
    if (tc->flags & TLS_CLOSING) {
	TlsChannel_FailSimple(tc, "VERIFY", "CLOSED", "SSL/TLS negotiation failed:"
		" the verifier closed the channel");
	return 0;
    }
    return ok;
}

/*
 * PeerCheck_Open --
 *	Runs once the handshake succeeded: protocol check, then the verifier
 *	if one is set, else (client only) automatic verification of the
 *	server certificate against the trust stores and the peer subject.
 *	Returns 1 and marks the channel OPEN, or 0 with the failure stored.
 */
int
PeerCheck_Open(TlsChannel *tc)
{
    if (!CheckProtocol(tc)) {
	return 0;
    }
    if (tc->verifier != NULL && tc->interp == NULL) {
	TlsChannel_FailSimple(tc, "VERIFY", "MOVED", "SSL/TLS negotiation"
		" failed: the channel moved to another thread during negotiation"
		" and no interpreter there ran tls_handshake to call the verifier");
	return 0;
    }
    if (tc->verifier != NULL) {
	tc->flags |= TLS_VERIFYING;
	int accepted = RunVerifier(tc);
	tc->flags &= ~TLS_VERIFYING;
	if (!accepted) {
	    return 0;
	}
    } else if (!(tc->flags & TLS_SERVER)) {
	PCCERT_CONTEXT cert = NULL;
	SECURITY_STATUS status = QueryContextAttributesW(&tc->engine.ctx,
		SECPKG_ATTR_REMOTE_CERT_CONTEXT, &cert);
	if (status != SEC_E_OK || cert == NULL) {
	    TlsChannel_FailStatus(tc, "VERIFY",
		    status == SEC_E_OK ? SEC_E_CERT_UNKNOWN : status,
		    "SSL/TLS negotiation failed: no server certificate");
	    return 0;
	}
	VerifyOptions opts;
	memset(&opts, 0, sizeof(opts));
	opts.serverName = tc->peerSubject;
	opts.serverCert = 1;
	opts.extraStore = cert->hCertStore;
	opts.revocationFlags = CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT;
	const char *reason;
	long result = Cert_Verify(cert, &opts, &reason);
	CertFreeCertificateContext(cert);
	if (result != 0) {
	    char context[200];
	    snprintf(context, sizeof(context), "SSL/TLS negotiation failed:"
		    " certificate verification failed (%s) for \"%s\"", reason,
		    tc->peerSubject ? tc->peerSubject : "");
	    /* The reason token goes last in the errorCode: it tells apart
	     * failures that share an HRESULT (expired and notyetvalid,
	     * untrustedroot and selfsigned, the name mismatches). */
	    Tcl_Obj *message, *code;
	    Error_Build("VERIFY", result, context, &message, &code);
	    Tcl_ListObjAppendElement(NULL, code, Tcl_NewStringObj(reason, -1));
	    TlsChannel_SetFailure(tc, message, code);
	    return 0;
	}
    }
    /* The certificate verified now: a renegotiation may not change it. */
    if (QueryContextAttributesW(&tc->engine.ctx,
	    SECPKG_ATTR_REMOTE_CERT_CONTEXT, &tc->peerCert) != SEC_E_OK) {
	tc->peerCert = NULL;
    }
    tc->flags |= TLS_OPEN;
    return 1;
}

/*
 * PeerCheck_Renegotiated --
 *	After a renegotiation (or a TLS 1.3 post-handshake exchange) completed
 *	in the engine: the protocol and strength rules hold again, and the
 *	peer must present the certificate that was verified at the start (a
 *	new one would bypass the verification). Returns 1, or 0 with the
 *	failure stored.
 */
int
PeerCheck_Renegotiated(TlsChannel *tc)
{
    tc->engine.reopened = 0;
    if (!CheckProtocol(tc)) {
	return 0;
    }
    PCCERT_CONTEXT now = NULL;
    if (QueryContextAttributesW(&tc->engine.ctx,
	    SECPKG_ATTR_REMOTE_CERT_CONTEXT, &now) != SEC_E_OK) {
	now = NULL;
    }
    int same = (now == NULL && tc->peerCert == NULL) || (now != NULL
	    && tc->peerCert != NULL
	    && now->cbCertEncoded == tc->peerCert->cbCertEncoded
	    && memcmp(now->pbCertEncoded, tc->peerCert->pbCertEncoded,
		    now->cbCertEncoded) == 0);
    if (now != NULL) {
	CertFreeCertificateContext(now);
    }
    if (!same) {
	TlsChannel_FailSimple(tc, "VERIFY", "RENEGOTIATION", "TLS read"
		" failed: the peer presented another certificate when renegotiating");
	return 0;
    }
    TRACE("%s renegotiated with the same peer certificate",
	    Tcl_GetChannelName(tc->self));
    return 1;
}
