/*
 * channelInt.h --
 *
 *	The state of one TLS channel, shared by channel.c (the Tcl channel
 *	driver) and peercheck.c (what makes a negotiated session acceptable).
 *	Nothing else looks inside a TlsChannel.
 */

#ifndef SCHANNEL_CHANNEL_INT_H
#define SCHANNEL_CHANNEL_INT_H

#include "schannelInt.h"

/* Bits of TlsChannel.flags. */
#define TLS_SERVER		(1 << 0)	/* Server side of the session. */
#define TLS_NONBLOCKING		(1 << 1)	/* Script set -blocking 0. */
#define TLS_OPEN		(1 << 2)	/* Negotiated and verified. */
#define TLS_FAILED		(1 << 3)	/* Error stored in tc->error. */
#define TLS_EOF			(1 << 4)	/* Peer closed; sticky. */
#define TLS_BACKGROUND		(1 << 5)	/* Handshake driven by events. */
#define TLS_DONE_POSTED		(1 << 6)	/* Completion timer scheduled. */
#define TLS_WRITE_CLOSED	(1 << 7)	/* Our close_notify was sent. */
#define TLS_CLOSING		(1 << 8)	/* Close procedure has run. */
#define TLS_STARTED		(1 << 9)	/* Handshake has begun. */
#define TLS_VERIFYING		(1 << 10)	/* The verifier script runs. */
#define TLS_DONE_MOVED		(1 << 11)	/* Completion timer dropped by a
						 * thread move; re-armed there. */
#define TLS_KICK_MOVED		(1 << 12)	/* Likewise, the start on buffered input. */
#define TLS_DONE_DROPPED	(1 << 13)	/* A thread move released the done
						 * callback; the channel notifies. */

struct TlsChannel {
    Tcl_Channel self;		/* Our channel (top of the stack). */
    Tcl_Channel lower;		/* The channel below (the TCP socket). */
    Tcl_Interp *interp;		/* For the verifier; NULL after a thread
				 * move until tls_handshake names one. */
    Tcl_ThreadId owner;		/* Thread whose event loop serves us. */
    TlsEngine engine;
    Cred *cred;			/* Our reference. */
    unsigned flags;
    int watchMask;		/* Interest of Tcl's generic layer. */
    int readSize;		/* Bytes asked of the next socket read. */
    Tcl_TimerToken notifyTimer;	/* Notifies of data held in the engine. */
    Tcl_TimerToken doneTimer;	/* Runs the end of a background handshake. */
    Tcl_TimerToken kickTimer;	/* Starts a background handshake on input
				 * Tcl had already read from the socket. */
    char *peerSubject;		/* Client: name to verify (ckalloc'd). */
    Tcl_Obj *verifier;		/* Command prefix, or NULL. */
    Tcl_Obj *contextName;	/* Handle for -context and verifiers. */
    PCCERT_CONTEXT peerCert;	/* The peer's certificate verified on OPEN,
				 * or NULL (a client that sent none). */
    Tcl_Obj *error;		/* Stored failure message, or NULL. */
    Tcl_Obj *errorCode;		/* Its errorCode list. */
    void (*doneProc)(TlsChannel *tc, int ok, void *data);
    void *doneData;
};

/* channel.c: storing the channel's first failure. */
void		TlsChannel_SetFailure(TlsChannel *tc, Tcl_Obj *message,
		    Tcl_Obj *code);
void		TlsChannel_FailStatus(TlsChannel *tc, const char *category,
		    long status, const char *context);
void		TlsChannel_FailSimple(TlsChannel *tc, const char *category,
		    const char *detail, const char *message);

/* peercheck.c: checks run when a handshake or renegotiation completes. */
int		PeerCheck_Open(TlsChannel *tc);
int		PeerCheck_Renegotiated(TlsChannel *tc);

#endif
