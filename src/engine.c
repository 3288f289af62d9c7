/*
 * engine.c --
 *
 *	The sans-I/O TLS engine (see engine.h): the handshake as a loop of
 *	InitializeSecurityContext / AcceptSecurityContext steps, record
 *	decryption and encryption, post-handshake messages (SEC_I_RENEGOTIATE)
 *	and close_notify. All bytes move through the engine's ByteBufs.
 */

#include <string.h>
#include "engine.h"
#include "trace.h"

#define CLIENT_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT \
	| ISC_REQ_CONFIDENTIALITY | ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM \
	| ISC_REQ_EXTENDED_ERROR | ISC_REQ_MANUAL_CRED_VALIDATION)
#define SERVER_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT \
	| ASC_REQ_CONFIDENTIALITY | ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM \
	| ASC_REQ_EXTENDED_ERROR)

#define TLS_RECORD_HEADER 5
#define TLS_CONTENT_ALERT 21
/* An SSL 2.0-style ClientHello is small; anything announcing more is not
 * one (and would keep the server waiting for bytes that never come). */
#define SSL2_MAX_HELLO 2048
/* Largest ciphertext record body TLS allows (RFC 5246: 2^14 + 2048). */
#define TLS_MAX_RECORD_BODY (16384 + 2048)

/*
 * Fail --
 *	Records the first fatal status and the call that produced it, and
 *	moves the engine to FAILED. Returns the status for convenience.
 */
static SECURITY_STATUS
Fail(TlsEngine *e, SECURITY_STATUS status, const char *where)
{
    if (e->error == SEC_E_OK) {
	e->error = status;
	e->errorWhere = where;
    }
    e->state = ENGINE_FAILED;
    return status;
}

/*
 * CheckRecordHeader --
 *	Rejects input that cannot be TLS before handing it to SSPI, so a peer
 *	speaking another protocol (or announcing an oversized record) fails at
 *	once instead of leaving us waiting for a record that never completes.
 *	Returns SEC_E_OK, or SEC_E_ILLEGAL_MESSAGE with the engine FAILED.
 */
static SECURITY_STATUS
CheckRecordHeader(TlsEngine *e)
{
    const unsigned char *h = ByteBuf_Head(&e->cipherIn);
    size_t n = e->cipherIn.len;
    if (n == 0) {
	return SEC_E_OK;
    }
    if (e->isServer && e->state == ENGINE_HANDSHAKE && !e->haveCtx
	    && (h[0] & 0x80)) {
	/* SSL 2.0-style ClientHello: 2-byte length, CLIENT-HELLO (1), then
	 * version 3.x (compatible hello) or 0.2 (SSL 2.0). */
	size_t length = n >= 2 ? (((size_t) h[0] & 0x7f) << 8) | h[1] : 0;
	if ((n >= 2 && (length < 9 || length > SSL2_MAX_HELLO))
		|| (n >= 3 && h[2] != 1) || (n >= 4 && h[3] != 3 && h[3] != 0)) {
	    return Fail(e, SEC_E_ILLEGAL_MESSAGE, "TLS record check");
	}
	return SEC_E_OK;
    }
    /* Content types: change_cipher_spec, alert, handshake, application
     * data, heartbeat. */
    if (h[0] < 20 || h[0] > 24 || (n >= 2 && h[1] != 3)) {
	return Fail(e, SEC_E_ILLEGAL_MESSAGE, "TLS record check");
    }
    if (n >= TLS_RECORD_HEADER
	    && (((size_t) h[3] << 8) | h[4]) > TLS_MAX_RECORD_BODY) {
	return Fail(e, SEC_E_ILLEGAL_MESSAGE, "TLS record check");
    }
    return SEC_E_OK;
}

/*
 * NotePlainAlert --
 *	During a handshake, alerts before the keys are set are sent in the
 *	clear: remember a fatal one, so the failure can name the peer's reason
 *	(platforms map them to unhelpful generic statuses).
 */
static void
NotePlainAlert(TlsEngine *e)
{
    const unsigned char *h = ByteBuf_Head(&e->cipherIn);
    if (e->cipherIn.len >= TLS_RECORD_HEADER + 2 && h[0] == TLS_CONTENT_ALERT
	    && h[3] == 0 && h[4] == 2 && h[5] == 2) {
	e->peerAlert = h[6];
    }
}

/*
 * Engine_AlertName --
 *	The RFC name of a TLS alert description, or NULL.
 */
const char *
Engine_AlertName(int description)
{
    switch (description) {
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return NULL;
    }
}

/*
 * Engine_Init --
 *	Prepares an engine for one connection. `targetNameUtf8` (client) is the
 *	name sent as SNI and given to Schannel; NULL or "" sends none.
 *	Returns 1, or 0 when memory is exhausted.
 */
int
Engine_Init(TlsEngine *e, PCredHandle cred, int isServer,
	const char *targetNameUtf8, int mutualAuth)
{
    memset(e, 0, sizeof(*e));
    e->cred = *cred;
    SecInvalidateHandle(&e->ctx);
    e->isServer = isServer;
    e->mutualAuth = mutualAuth;
    e->state = ENGINE_HANDSHAKE;
    e->peerAlert = -1;
    e->contextFlags = isServer
	    ? (SERVER_FLAGS | (mutualAuth ? ASC_REQ_MUTUAL_AUTH : 0))
	    : CLIENT_FLAGS;
    if (!isServer && targetNameUtf8 != NULL && *targetNameUtf8) {
	int n = MultiByteToWideChar(CP_UTF8, 0, targetNameUtf8, -1, NULL, 0);
	e->targetName = malloc(n * sizeof(WCHAR));
	if (e->targetName == NULL) {
	    return 0;
	}
	MultiByteToWideChar(CP_UTF8, 0, targetNameUtf8, -1, e->targetName, n);
    }
    return 1;
}

/*
 * Engine_Free --
 *	Deletes the security context and frees every buffer. Does not send
 *	anything (call Engine_Shutdown first for a clean close).
 */
void
Engine_Free(TlsEngine *e)
{
    if (e->haveCtx) {
	DeleteSecurityContext(&e->ctx);
	e->haveCtx = 0;
    }
    free(e->targetName);
    e->targetName = NULL;
    ByteBuf_Free(&e->cipherIn);
    ByteBuf_Free(&e->cipherOut);
    ByteBuf_Free(&e->plainIn);
    ByteBuf_Free(&e->plainOut);
}

/*
 * CallHandshakeFunction --
 *	One InitializeSecurityContext (client) or AcceptSecurityContext
 *	(server) call with the given input, creating the context on the first
 *	call. Output tokens (handshake messages or alerts) are appended to
 *	cipherOut and the SSPI buffers freed. Returns the SSPI status.
 */
static SECURITY_STATUS
CallHandshakeFunction(TlsEngine *e, SecBufferDesc *input)
{
    SecBuffer out[2] = {
	{0, SECBUFFER_TOKEN, NULL},
	{0, SECBUFFER_ALERT, NULL}
    };
    SecBufferDesc outDesc = {SECBUFFER_VERSION, 2, out};
    ULONG attrs = 0;
    TimeStamp expiry;
    SECURITY_STATUS status;

    if (e->isServer) {
	status = AcceptSecurityContext(&e->cred, e->haveCtx ? &e->ctx : NULL,
		input, e->contextFlags, 0, &e->ctx, &outDesc, &attrs, &expiry);
    } else {
	status = InitializeSecurityContextW(&e->cred,
		e->haveCtx ? &e->ctx : NULL, e->targetName, e->contextFlags,
		0, 0, e->haveCtx ? input : NULL, 0, &e->ctx, &outDesc, &attrs,
		&expiry);
    }
    if (!e->haveCtx && SecIsValidHandle(&e->ctx)) {
	e->haveCtx = 1;
    }
    for (int i = 0; i < 2; i++) {
	if (out[i].pvBuffer != NULL) {
	    if (out[i].BufferType == SECBUFFER_TOKEN && out[i].cbBuffer > 0
		    && !ByteBuf_Append(&e->cipherOut, out[i].pvBuffer,
			    out[i].cbBuffer)) {
		status = SEC_E_INSUFFICIENT_MEMORY;
	    }
	    FreeContextBuffer(out[i].pvBuffer);
	}
    }
    return status;
}

/*
 * Opened --
 *	Called when a (re)handshake completes: reads the stream sizes and
 *	encrypts the plaintext that was written while negotiating.
 */
static SECURITY_STATUS
Opened(TlsEngine *e)
{
    SECURITY_STATUS status = QueryContextAttributesW(&e->ctx,
	    SECPKG_ATTR_STREAM_SIZES, &e->sizes);
    if (status != SEC_E_OK) {
	return Fail(e, status, "QueryContextAttributes");
    }
    if (e->state == ENGINE_RENEGOTIATE) {
	e->reopened = 1;
    }
    e->state = ENGINE_OPEN;
    if (e->plainOut.len > 0) {
	status = Engine_Encrypt(e, ByteBuf_Head(&e->plainOut), e->plainOut.len);
	ByteBuf_Free(&e->plainOut);
    }
    return status;
}

/*
 * Engine_Handshake --
 *	Advances the (re)handshake as far as the ciphertext in cipherIn allows.
 *	Returns SEC_E_OK when the session is open (extra bytes stay in cipherIn
 *	for Engine_Decrypt), ENGINE_WANT_INPUT when more input is needed (send
 *	cipherOut first), or the fatal SSPI status (an alert may be waiting in
 *	cipherOut).
 */
SECURITY_STATUS
Engine_Handshake(TlsEngine *e)
{
    if (e->state == ENGINE_OPEN) {
	return SEC_E_OK;
    }
    if (e->state == ENGINE_FAILED) {
	return e->error;
    }
    if (e->state == ENGINE_CLOSED) {
	return SEC_E_CONTEXT_EXPIRED;
    }
    for (;;) {
	int firstClientCall = (!e->isServer && !e->haveCtx);
	if (!firstClientCall && e->cipherIn.len == 0 && !e->kickHandshake) {
	    return ENGINE_WANT_INPUT;
	}
	e->kickHandshake = 0;
	if (CheckRecordHeader(e) != SEC_E_OK) {
	    return e->error;
	}
	NotePlainAlert(e);
	SecBuffer in[2] = {
	    {(ULONG) e->cipherIn.len, SECBUFFER_TOKEN, ByteBuf_Head(&e->cipherIn)},
	    {0, SECBUFFER_EMPTY, NULL}
	};
	SecBufferDesc inDesc = {SECBUFFER_VERSION, 2, in};
	size_t outBefore = e->cipherOut.len;
	SECURITY_STATUS status = CallHandshakeFunction(e, &inDesc);
	TRACE("engine %p: %s 0x%08lx, %lu bytes in, %lu bytes out", (void *) e,
		e->isServer ? "AcceptSecurityContext" : "InitializeSecurityContext",
		(unsigned long) status, (unsigned long) in[0].cbBuffer,
		(unsigned long) (e->cipherOut.len - outBefore));

	switch (status) {
	case SEC_E_INCOMPLETE_MESSAGE:
	    if (e->state == ENGINE_RENEGOTIATE && in[0].cbBuffer == 0) {
		/* The platform consumed the peer's renegotiation message in
		 * DecryptMessage and cannot go on from no input: both sides
		 * would wait for each other forever. */
		return Fail(e, SEC_I_RENEGOTIATE, e->isServer
			? "AcceptSecurityContext" : "InitializeSecurityContext");
	    }
	    return ENGINE_WANT_INPUT;
	case SEC_I_INCOMPLETE_CREDENTIALS:
	    /* Server asked for a client certificate and none was configured:
	     * continue without one, with the same input. */
	    if (e->contextFlags & ISC_REQ_USE_SUPPLIED_CREDS) {
		return Fail(e, status, "InitializeSecurityContext");
	    }
	    e->contextFlags |= ISC_REQ_USE_SUPPLIED_CREDS;
	    continue;
	case SEC_E_OK:
	case SEC_I_CONTINUE_NEEDED:
	    if (firstClientCall) {
		/* The ClientHello consumed no input. */
	    } else if (in[1].BufferType == SECBUFFER_EXTRA && in[1].cbBuffer > 0) {
		ByteBuf_KeepLast(&e->cipherIn, in[1].cbBuffer);
	    } else {
		ByteBuf_Consume(&e->cipherIn, e->cipherIn.len);
	    }
	    if (status == SEC_E_OK) {
		return Opened(e);
	    }
	    if (e->cipherIn.len == 0) {
		return ENGINE_WANT_INPUT;
	    }
	    continue;
	default:
	    return Fail(e, status, e->isServer ? "AcceptSecurityContext"
		    : "InitializeSecurityContext");
	}
    }
}

/*
 * Engine_HasWholeRecord --
 *	Returns 1 when cipherIn holds at least one complete TLS record, so a
 *	decryption attempt can make progress without more input.
 */
int
Engine_HasWholeRecord(const TlsEngine *e)
{
    if (e->cipherIn.len < TLS_RECORD_HEADER) {
	return 0;
    }
    const unsigned char *h = e->cipherIn.data + e->cipherIn.start;
    size_t body = ((size_t) h[3] << 8) | h[4];
    return e->cipherIn.len >= TLS_RECORD_HEADER + body;
}

/*
 * Engine_Decrypt --
 *	Decrypts every complete record in cipherIn into plainIn. Handles the
 *	peer's close_notify (state CLOSED, peerClosed set) and post-handshake
 *	messages (SEC_I_RENEGOTIATE: plaintext of the same call is kept, the
 *	handshake is stepped with the remaining bytes). A partial record stays
 *	in cipherIn. Returns SEC_E_OK or the fatal status.
 */
SECURITY_STATUS
Engine_Decrypt(TlsEngine *e)
{
    while (e->cipherIn.len > 0) {
	if (e->state == ENGINE_RENEGOTIATE) {
	    SECURITY_STATUS status = Engine_Handshake(e);
	    if (status == ENGINE_WANT_INPUT) {
		return SEC_E_OK;
	    }
	    if (status != SEC_E_OK) {
		return status;
	    }
	    continue;
	}
	if (e->state != ENGINE_OPEN) {
	    break;
	}
	if (CheckRecordHeader(e) != SEC_E_OK) {
	    return e->error;
	}
	/* Content type of the record, before in-place decryption. */
	unsigned char recordType = ByteBuf_Head(&e->cipherIn)[0];
	SecBuffer b[4] = {
	    {(ULONG) e->cipherIn.len, SECBUFFER_DATA, ByteBuf_Head(&e->cipherIn)},
	    {0, SECBUFFER_EMPTY, NULL},
	    {0, SECBUFFER_EMPTY, NULL},
	    {0, SECBUFFER_EMPTY, NULL}
	};
	SecBufferDesc desc = {SECBUFFER_VERSION, 4, b};
	SECURITY_STATUS status = DecryptMessage(&e->ctx, &desc, 0, NULL);

	if (status == SEC_E_INCOMPLETE_MESSAGE) {
	    break;
	}
	if (status == SEC_E_INTERNAL_ERROR && recordType == TLS_CONTENT_ALERT
		&& e->skippedAlert == 0 && Engine_HasWholeRecord(e)) {
	    /* An alert the platform cannot report (Wine's Schannel fails
	     * on every alert but close_notify, after consuming the record;
	     * a warning, e.g. user_canceled or no_renegotiation, leaves the
	     * session usable). Pass over it: data after a warning is still
	     * delivered; after a fatal alert the next record fails, and an
	     * end of the connection right after it is an error, not EOF. */
	    const unsigned char *h = ByteBuf_Head(&e->cipherIn);
	    ByteBuf_Consume(&e->cipherIn,
		    TLS_RECORD_HEADER + (((size_t) h[3] << 8) | h[4]));
	    e->skippedAlert = status;
	    TRACE("engine %p: alert record passed over (0x%08lx)", (void *) e,
		    (unsigned long) status);
	    continue;
	}
	if (status != SEC_E_OK && status != SEC_I_RENEGOTIATE
		&& status != SEC_I_CONTEXT_EXPIRED) {
	    return Fail(e, status, "DecryptMessage");
	}
	e->skippedAlert = 0;
	size_t extra = 0, plain = 0;
	for (int i = 0; i < 4; i++) {
	    if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer > 0) {
		if (!ByteBuf_Append(&e->plainIn, b[i].pvBuffer, b[i].cbBuffer)) {
		    return Fail(e, SEC_E_INSUFFICIENT_MEMORY, "DecryptMessage");
		}
		plain += b[i].cbBuffer;
	    }
	    if (b[i].BufferType == SECBUFFER_EXTRA) {
		extra = b[i].cbBuffer;
	    }
	}
	ByteBuf_KeepLast(&e->cipherIn, extra);
	if (status != SEC_E_OK) {
	    TRACE("engine %p: DecryptMessage 0x%08lx, record type %d, %lu plain,"
		    " %lu extra", (void *) e, (unsigned long) status, recordType,
		    (unsigned long) plain, (unsigned long) extra);
	}
	if (status == SEC_E_OK && plain == 0 && recordType == TLS_CONTENT_ALERT) {
	    /* An alert that was not fatal: some implementations report the
	     * peer's close_notify this way instead of SEC_I_CONTEXT_EXPIRED. */
	    status = SEC_I_CONTEXT_EXPIRED;
	}
	if (status == SEC_I_CONTEXT_EXPIRED) {
	    e->peerClosed = 1;	/* The peer's close_notify. */
	    e->state = ENGINE_CLOSED;
	    ByteBuf_Consume(&e->cipherIn, e->cipherIn.len);
	    break;
	}
	if (status == SEC_I_RENEGOTIATE) {
	    /* A TLS 1.2 HelloRequest (the client answers with a new
	     * ClientHello, made from no input), a client's new ClientHello
	     * (consumed here: the server answers from no input), or a TLS
	     * 1.3 post-handshake message (left in cipherIn for the
	     * handshake function). */
	    e->state = ENGINE_RENEGOTIATE;
	    e->kickHandshake = 1;
	    if (e->cipherIn.len == 0) {
		SECURITY_STATUS hs = Engine_Handshake(e);
		if (hs != SEC_E_OK && hs != ENGINE_WANT_INPUT) {
		    return hs;
		}
	    }
	}
    }
    return SEC_E_OK;
}

/*
 * Engine_Encrypt --
 *	Encrypts n bytes into cipherOut as records of at most the negotiated
 *	maximum size. Before the session is open (or while a post-handshake
 *	exchange runs) the plaintext is queued and encrypted on OPEN.
 *	Returns SEC_E_OK or the fatal status.
 */
SECURITY_STATUS
Engine_Encrypt(TlsEngine *e, const void *data, size_t n)
{
    const unsigned char *src = data;

    if (e->state == ENGINE_HANDSHAKE || e->state == ENGINE_RENEGOTIATE) {
	return ByteBuf_Append(&e->plainOut, data, n) ? SEC_E_OK
		: Fail(e, SEC_E_INSUFFICIENT_MEMORY, "EncryptMessage");
    }
    if (e->state == ENGINE_FAILED) {
	return e->error;
    }
    /* After the peer's close_notify we may still send (TLS 1.3 half-close;
     * where the platform refuses, EncryptMessage says so). */
    if ((e->state != ENGINE_OPEN && e->state != ENGINE_CLOSED) || e->sentClose
	    || !e->haveCtx || e->sizes.cbMaximumMessage == 0) {
	return SEC_E_CONTEXT_EXPIRED;
    }
    size_t header = e->sizes.cbHeader, trailer = e->sizes.cbTrailer;
    while (n > 0) {
	size_t chunk = n < e->sizes.cbMaximumMessage ? n
		: e->sizes.cbMaximumMessage;
	if (!ByteBuf_Reserve(&e->cipherOut, header + chunk + trailer)) {
	    return Fail(e, SEC_E_INSUFFICIENT_MEMORY, "EncryptMessage");
	}
	unsigned char *p = ByteBuf_Tail(&e->cipherOut);
	memcpy(p + header, src, chunk);
	SecBuffer b[4] = {
	    {(ULONG) header, SECBUFFER_STREAM_HEADER, p},
	    {(ULONG) chunk, SECBUFFER_DATA, p + header},
	    {(ULONG) trailer, SECBUFFER_STREAM_TRAILER, p + header + chunk},
	    {0, SECBUFFER_EMPTY, NULL}
	};
	SecBufferDesc desc = {SECBUFFER_VERSION, 4, b};
	SECURITY_STATUS status = EncryptMessage(&e->ctx, 0, &desc, 0);
	if (status != SEC_E_OK) {
	    return Fail(e, status, "EncryptMessage");
	}
	if (b[0].cbBuffer != header) {
	    /* Keep the record contiguous if the header came out shorter. */
	    memmove(p + b[0].cbBuffer, p + header, b[1].cbBuffer + b[2].cbBuffer);
	}
	e->cipherOut.len += b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer;
	src += chunk;
	n -= chunk;
    }
    return SEC_E_OK;
}

/*
 * Engine_Shutdown --
 *	Produces our close_notify into cipherOut (once, when a session was
 *	established). Further encryption fails; decryption goes on, so the
 *	peer's remaining data can still be read after a half-close.
 *	Returns SEC_E_OK or the SSPI status of the failed step.
 */
SECURITY_STATUS
Engine_Shutdown(TlsEngine *e)
{
    if (e->sentClose || !e->haveCtx || (e->state != ENGINE_OPEN
	    && e->state != ENGINE_RENEGOTIATE && e->state != ENGINE_CLOSED)) {
	e->sentClose = 1;
	return SEC_E_OK;
    }
    e->sentClose = 1;
    DWORD type = SCHANNEL_SHUTDOWN;
    SecBuffer token = {sizeof(type), SECBUFFER_TOKEN, &type};
    SecBufferDesc desc = {SECBUFFER_VERSION, 1, &token};
    SECURITY_STATUS status = ApplyControlToken(&e->ctx, &desc);
    if (status != SEC_E_OK) {
	return status;
    }
    SecBuffer in = {0, SECBUFFER_EMPTY, NULL};
    SecBufferDesc inDesc = {SECBUFFER_VERSION, 1, &in};
    status = CallHandshakeFunction(e, &inDesc);
    return (status == SEC_I_CONTINUE_NEEDED) ? SEC_E_OK : status;
}
