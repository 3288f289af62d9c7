/*
 * engine.h --
 *
 *	A sans-I/O TLS session over SSPI/Schannel. The caller moves bytes:
 *	ciphertext received from the network is appended to `cipherIn`,
 *	ciphertext to be sent is taken from `cipherOut`, decrypted data is
 *	taken from `plainIn`. The engine never touches sockets or Tcl.
 */

#ifndef SCHANNEL_ENGINE_H
#define SCHANNEL_ENGINE_H

#define SECURITY_WIN32
#define SCHANNEL_USE_BLACKLISTS		/* For SCH_CREDENTIALS (TLS 1.3). */
#include <windows.h>
#include <subauth.h>
#include <security.h>
#include <schannel.h>
#include "bytebuf.h"

typedef enum EngineState {
    ENGINE_HANDSHAKE,		/* Negotiating (first handshake). */
    ENGINE_OPEN,		/* Application data flows. */
    ENGINE_RENEGOTIATE,		/* Post-handshake exchange in progress. */
    ENGINE_CLOSED,		/* The peer's close_notify received. */
    ENGINE_FAILED		/* A fatal error; see `error`. */
} EngineState;

typedef struct TlsEngine {
    CredHandle cred;		/* Borrowed; the owner keeps it alive. */
    CtxtHandle ctx;		/* Valid when haveCtx. */
    int haveCtx;
    int isServer;
    int mutualAuth;		/* Server: ask the client for a cert. */
    WCHAR *targetName;		/* Client: SNI / target name, or NULL. */
    ULONG contextFlags;		/* ISC_REQ_* / ASC_REQ_* asked for. */
    EngineState state;
    int peerClosed;		/* Peer's close_notify seen. */
    int sentClose;		/* Our close_notify produced. */
    int peerAlert;		/* Fatal alert the peer sent in the clear
				 * during the handshake, or -1. */
    int reopened;		/* A renegotiation or post-handshake
				 * exchange completed (the owner clears it
				 * once it re-checked the session). */
    int kickHandshake;		/* Step once even without input (a
				 * renegotiation the peer asked for). */
    SECURITY_STATUS skippedAlert;	/* The status of the last alert
				 * record the platform failed to decrypt
				 * and that was passed over (0: none since
				 * the last record that decrypted). */
    SecPkgContext_StreamSizes sizes;	/* Valid once OPEN. */
    ByteBuf cipherIn;		/* Received, not yet processed. */
    ByteBuf cipherOut;		/* Produced, not yet sent. */
    ByteBuf plainIn;		/* Decrypted, not yet delivered. */
    ByteBuf plainOut;		/* Written before OPEN, sent on OPEN. */
    SECURITY_STATUS error;	/* First fatal status, or SEC_E_OK. */
    const char *errorWhere;	/* SSPI call that failed. */
} TlsEngine;

int		Engine_Init(TlsEngine *e, PCredHandle cred, int isServer,
		    const char *targetNameUtf8, int mutualAuth);
void		Engine_Free(TlsEngine *e);
SECURITY_STATUS	Engine_Handshake(TlsEngine *e);
SECURITY_STATUS	Engine_Decrypt(TlsEngine *e);
SECURITY_STATUS	Engine_Encrypt(TlsEngine *e, const void *data, size_t n);
SECURITY_STATUS	Engine_Shutdown(TlsEngine *e);
int		Engine_HasWholeRecord(const TlsEngine *e);
const char *	Engine_AlertName(int description);

/* Engine_Handshake returns this when it needs more input. */
#define ENGINE_WANT_INPUT	SEC_I_CONTINUE_NEEDED

#endif
