/*
 * schannelInt.h --
 *
 *	Declarations shared between the source files of the schannel
 *	extension. Each section names the file that implements it.
 */

#ifndef SCHANNEL_INT_H
#define SCHANNEL_INT_H

#include <tcl.h>
#include "engine.h"
#include <wincrypt.h>

#ifndef TCL_SIZE_MAX
typedef int Tcl_Size;		/* Tcl 8.6; Tcl 9 defines Tcl_Size. */
#endif

#define SCHANNEL_NS "::schannel"

#include "trace.h"

/* handle.c: opaque handles for credentials, contexts, certificates, stores. */
typedef enum HandleType {
    HANDLE_CRED, HANDLE_CONTEXT, HANDLE_CERT, HANDLE_STORE, HANDLE_TYPES
} HandleType;

Tcl_Obj *	Handle_New(Tcl_Interp *owner, HandleType type, void *ptr);
void		Handle_ReleaseOwnedBy(Tcl_Interp *owner);
void *		Handle_Get(Tcl_Interp *interp, Tcl_Obj *name, HandleType type);
void *		Handle_Remove(Tcl_Interp *interp, Tcl_Obj *name, HandleType type);
void		Handle_ForgetPtr(HandleType type, void *ptr);

/* handle.c: live-object counters for schannel::stats. */
typedef enum StatKind {
    STAT_CREDENTIALS, STAT_CONTEXTS, STAT_CERTIFICATES, STAT_STORES,
    STAT_CHANNELS, STAT_KINDS
} StatKind;

void		Stats_Add(StatKind kind, int delta);
Tcl_ObjCmdProc	Schannel_StatsCmd;

/* errors.c: SSPI and certificate errors as Tcl errors. */
const char *	Error_StatusName(long status);
Tcl_Obj *	Error_StatusMessage(long status);
void		Error_Build(const char *category, long status,
		    const char *context, Tcl_Obj **messagePtr,
		    Tcl_Obj **codePtr);
int		Error_Set(Tcl_Interp *interp, const char *category, long status,
		    const char *context);
int		Error_Usage(Tcl_Interp *interp, const char *usage);
int		Error_Simple(Tcl_Interp *interp, const char *category,
		    const char *detail, const char *message);

/* creds.c: credentials shared by reference between channels. */
typedef struct Cred {
    CredHandle handle;
    int refCount;
    int isServer;
    DWORD protocols;		/* SP_PROT_* bits the script allowed. */
    DWORD minStrength, maxStrength;	/* Cipher bits allowed, 0: any. */
    Tcl_WideInt expiry;		/* As AcquireCredentialsHandle said. */
    PCCERT_CONTEXT serverCert;	/* Server: our certificate (a reference). */
    char *name;			/* Handle name given to the script. */
} Cred;

void		Cred_Retain(Cred *cred);
void		Cred_Release(Cred *cred);
Cred *		Cred_Acquire(Tcl_Interp *interp, Tcl_Obj *description,
		    int isServer);
Tcl_ObjCmdProc	Creds_SchannelCredentialsCmd, Creds_AcquireCmd, Creds_FreeCmd;
const char *	Creds_ProtocolName(DWORD protocol);

/* cert.c: certificates, stores, verification. */
PCCERT_CONTEXT	Cert_Get(Tcl_Interp *interp, Tcl_Obj *name);
Tcl_Obj *	Cert_NewHandle(Tcl_Interp *owner, PCCERT_CONTEXT cert);
typedef struct VerifyOptions {
    const char *serverName;	/* DNS name or IP literal, or NULL. */
    int serverCert;		/* 1: a server's cert, 0: a client's. */
    HCERTSTORE extraStore;	/* Intermediates the peer sent, or NULL. */
    PCCERT_CONTEXT *trustedRoots;
    int numTrustedRoots;
    DWORD ignoreErrors;		/* CERT_TRUST_* bits to ignore. */
    int ignoreNameMismatch;
    DWORD revocationFlags;	/* CERT_CHAIN_REVOCATION_* or 0. */
} VerifyOptions;
long		Cert_Verify(PCCERT_CONTEXT cert, const VerifyOptions *opts,
		    const char **reason);
int		Cert_Register(Tcl_Interp *interp);

/* verify.c: verification helpers. */
int		Verify_IsIpLiteral(const char *name);

/* channel.c: the stacked TLS channel. */
typedef struct TlsChannel TlsChannel;
typedef struct TlsChannelConfig {
    Cred *cred;
    int isServer;
    int requestClientCert;
    const char *peerSubject;	/* Client: name to verify and send as SNI. */
    Tcl_Obj *verifier;		/* Command prefix, or NULL. */
    int keepBufferSize;		/* starttls: leave -buffersize as it is. */
} TlsChannelConfig;

TlsChannel *	TlsChannel_Stack(Tcl_Interp *interp, Tcl_Channel lower,
		    const TlsChannelConfig *config);
int		TlsChannel_Handshake(Tcl_Interp *interp, TlsChannel *tc);
int		TlsChannel_HalfClose(Tcl_Interp *interp, TlsChannel *tc);
void		TlsChannel_StartBackground(TlsChannel *tc,
		    void (*done)(TlsChannel *tc, int ok, void *data),
		    void *data);
Tcl_Channel	TlsChannel_Channel(TlsChannel *tc);
TlsChannel *	TlsChannel_FromChannel(Tcl_Channel chan);
TlsChannel *	TlsChannel_FromContext(Tcl_Interp *interp, Tcl_Obj *ctxName);
TlsEngine *	TlsChannel_Engine(TlsChannel *tc);
Cred *		TlsChannel_Cred(TlsChannel *tc);
const char *	TlsChannel_StateName(TlsChannel *tc);
Tcl_Obj *	TlsChannel_Error(TlsChannel *tc);
Tcl_Obj *	TlsChannel_ErrorCode(TlsChannel *tc);

/* halfclose.c: Tcl's own close ... write on TLS channels. */
void		HalfClose_Install(Tcl_Interp *interp);

/* tlscmd.c: the script-level commands on channels. */
int		TlsCmd_Register(Tcl_Interp *interp);

#endif
