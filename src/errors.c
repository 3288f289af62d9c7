/*
 * errors.c --
 *
 *	Turns SSPI, CryptoAPI and Win32 status codes into Tcl errors with a
 *	machine-readable errorCode of the form
 *	    SCHANNEL CATEGORY SYMBOL 0xHEX MESSAGE
 *	e.g. {SCHANNEL HANDSHAKE SEC_E_UNTRUSTED_ROOT 0x80090325 {...}}.
 */

#include <stdio.h>
#include "schannelInt.h"

typedef struct StatusInfo {
    long status;
    const char *name;
    const char *text;		/* Used when the system has no message. */
} StatusInfo;

#define S(code, text) {(long) code, #code, text}
static const StatusInfo statusTable[] = {
    S(SEC_E_OK, "success"),
    S(SEC_I_CONTINUE_NEEDED, "negotiation continues"),
    S(SEC_I_CONTEXT_EXPIRED, "the peer closed the TLS session"),
    S(SEC_I_RENEGOTIATE, "the peer started a renegotiation that could not be completed"),
    S(SEC_I_INCOMPLETE_CREDENTIALS, "the peer asked for a client certificate"),
    S(SEC_E_INCOMPLETE_MESSAGE, "incomplete TLS message"),
    S(SEC_E_INSUFFICIENT_MEMORY, "not enough memory"),
    S(SEC_E_INVALID_HANDLE, "invalid handle"),
    S(SEC_E_INVALID_TOKEN, "the peer sent data that is not valid TLS"),
    S(SEC_E_INTERNAL_ERROR, "internal error of the security provider"),
    S(SEC_E_UNSUPPORTED_FUNCTION, "unsupported function or protocol"),
    S(SEC_E_UNKNOWN_CREDENTIALS, "unknown credentials"),
    S(SEC_E_NO_CREDENTIALS, "no credentials available"),
    S(SEC_E_NO_AUTHENTICATING_AUTHORITY, "no authority could be contacted"),
    S(SEC_E_CERT_UNKNOWN, "unknown certificate"),
    S(SEC_E_CERT_EXPIRED, "the certificate has expired"),
    S(SEC_E_UNTRUSTED_ROOT, "the certificate chain ends in an untrusted root"),
    S(SEC_E_WRONG_PRINCIPAL, "the certificate does not match the peer name"),
    S(SEC_E_ALGORITHM_MISMATCH, "no protocol or cipher in common with the peer"),
    S(SEC_E_ILLEGAL_MESSAGE, "the peer sent an illegal or fatal TLS message"),
    S(SEC_E_DECRYPT_FAILURE, "decryption failed"),
    S(SEC_E_MESSAGE_ALTERED, "the message was altered"),
    S(SEC_E_CONTEXT_EXPIRED, "the TLS session is closed"),
    S(SEC_E_ENCRYPT_FAILURE, "encryption failed"),
    S(SEC_E_BUFFER_TOO_SMALL, "buffer too small"),
    S(SEC_E_SECPKG_NOT_FOUND, "security package not found"),
    S(SEC_E_TARGET_UNKNOWN, "unknown target"),
    S(SEC_E_LOGON_DENIED, "logon denied"),
    S(SEC_E_NO_IMPERSONATION, "no impersonation allowed"),
    S(CERT_E_EXPIRED, "the certificate has expired or is not yet valid"),
    S(CERT_E_UNTRUSTEDROOT, "the certificate chain ends in an untrusted root"),
    S(CERT_E_CHAINING, "the certificate chain could not be built to a root"),
    S(CERT_E_CN_NO_MATCH, "the certificate does not match the peer name"),
    S(CERT_E_WRONG_USAGE, "the certificate is not valid for this usage"),
    S(CERT_E_REVOKED, "the certificate was revoked"),
    S(CERT_E_REVOCATION_FAILURE, "revocation could not be checked"),
    S(CERT_E_INVALID_NAME, "invalid name in the certificate"),
    S(CERT_E_ROLE, "a certificate that is not a CA was used as one"),
    S(CRYPT_E_REVOKED, "the certificate was revoked"),
    S(CRYPT_E_NOT_FOUND, "object not found"),
    S(TRUST_E_CERT_SIGNATURE, "the certificate signature is not valid"),
    S(TRUST_E_BASIC_CONSTRAINTS, "the basic constraints are not valid"),
    S(CRYPT_E_BAD_ENCODE, "bad encoding"),
    S(CRYPT_E_ASN1_BADTAG, "not a valid ASN.1 encoding"),
    S(CRYPT_E_NO_MATCH, "no match"),
    S(NTE_BAD_DATA, "bad data"),
    S(ERROR_INVALID_PASSWORD, "invalid password"),
    {0, NULL, NULL}
};
#undef S

static const StatusInfo *
Lookup(long status)
{
    for (const StatusInfo *s = statusTable; s->name != NULL; s++) {
	if (s->status == status) {
	    return s;
	}
    }
    return NULL;
}

/*
 * Error_StatusName --
 *	The symbolic name of a status (SEC_E_...), or "UNKNOWN".
 */
const char *
Error_StatusName(long status)
{
    const StatusInfo *s = Lookup(status);
    return s ? s->name : "UNKNOWN";
}

/*
 * Error_StatusMessage --
 *	A one-line human-readable text for a status: our own text when we have
 *	one (stable across Windows versions and languages), else the system's.
 */
Tcl_Obj *
Error_StatusMessage(long status)
{
    const StatusInfo *s = Lookup(status);
    if (s != NULL) {
	return Tcl_NewStringObj(s->text, -1);
    }
    char hex[32];
    snprintf(hex, sizeof(hex), "error 0x%08lX", (unsigned long) (DWORD) status);
    WCHAR *text = NULL;
    DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER
	    | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
	    (DWORD) status, 0, (LPWSTR) &text, 0, NULL);
    if (n == 0 || text == NULL) {
	return Tcl_NewStringObj(hex, -1);
    }
    while (n > 0 && (text[n - 1] == L'\r' || text[n - 1] == L'\n'
	    || text[n - 1] == L' ' || text[n - 1] == L'.')) {
	text[--n] = 0;
    }
    char utf8[1024];
    int len = WideCharToMultiByte(CP_UTF8, 0, text, -1, utf8, sizeof(utf8),
	    NULL, NULL);
    LocalFree(text);
    return Tcl_NewStringObj(len > 0 ? utf8 : hex, -1);
}

/*
 * Error_Build --
 *	Makes the message "CONTEXT: TEXT (SYMBOL 0xHEX)" and the errorCode list
 *	{SCHANNEL CATEGORY SYMBOL 0xHEX TEXT} (both with refcount 0).
 */
void
Error_Build(const char *category, long status, const char *context,
	Tcl_Obj **messagePtr, Tcl_Obj **codePtr)
{
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%08lX", (unsigned long) (DWORD) status);
    Tcl_Obj *text = Error_StatusMessage(status);
    Tcl_IncrRefCount(text);
    *messagePtr = Tcl_ObjPrintf("%s%s%s (%s %s)", context ? context : "",
	    context ? ": " : "", Tcl_GetString(text), Error_StatusName(status),
	    hex);
    Tcl_Obj *code[5] = {
	Tcl_NewStringObj("SCHANNEL", -1), Tcl_NewStringObj(category, -1),
	Tcl_NewStringObj(Error_StatusName(status), -1),
	Tcl_NewStringObj(hex, -1), text
    };
    *codePtr = Tcl_NewListObj(5, code);
    Tcl_DecrRefCount(text);
}

/*
 * Error_Set --
 *	Leaves the error of Error_Build in interp (status 0: errorCode
 *	SCHANNEL CATEGORY FAILED MESSAGE). Returns TCL_ERROR.
 */
int
Error_Set(Tcl_Interp *interp, const char *category, long status,
	const char *context)
{
    Tcl_Obj *message, *code;
    if (interp == NULL) {
	return TCL_ERROR;
    }
    if (status == 0) {
	/* The call failed without saying why (some platforms leave the
	 * last error at 0): the context alone is the message. */
	return Error_Simple(interp, category, "FAILED", context);
    }
    Error_Build(category, status, context, &message, &code);
    Tcl_SetObjResult(interp, message);
    Tcl_SetObjErrorCode(interp, code);
    return TCL_ERROR;
}

/*
 * Error_Simple --
 *	Leaves message in interp with errorCode SCHANNEL CATEGORY DETAIL
 *	MESSAGE. Returns TCL_ERROR.
 */
int
Error_Simple(Tcl_Interp *interp, const char *category, const char *detail,
	const char *message)
{
    if (interp != NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(message, -1));
	Tcl_SetErrorCode(interp, "SCHANNEL", category, detail, message, NULL);
    }
    return TCL_ERROR;
}

/*
 * Error_Usage --
 *	Leaves a socket-style usage message: wrong # args: should be "USAGE".
 *	Returns TCL_ERROR.
 */
int
Error_Usage(Tcl_Interp *interp, const char *usage)
{
    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
	    "wrong # args: should be \"%s\"", usage));
    Tcl_SetErrorCode(interp, "TCL", "WRONGARGS", NULL);
    return TCL_ERROR;
}
