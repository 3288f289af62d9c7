/*
 * creds.c --
 *
 *	Schannel credentials: sspi_schannel_credentials builds a description
 *	(a dict), sspi_acquire_credentials turns it into a credentials handle,
 *	sspi_free_credentials drops the script's reference. Channels hold their
 *	own reference, so freeing credentials in use is safe.
 *
 *	Without -protocols, TLS 1.2 and TLS 1.3 are asked for. TLS 1.3 needs
 *	SCH_CREDENTIALS (Windows 11 / Server 2022); where that structure is
 *	refused, SCHANNEL_CRED is used with the other protocols.
 */

#include "schannelInt.h"

typedef struct ProtocolName {
    const char *name;
    DWORD client, server;
} ProtocolName;

static const ProtocolName protocolNames[] = {
    {"ssl2", SP_PROT_SSL2_CLIENT, SP_PROT_SSL2_SERVER},
    {"ssl3", SP_PROT_SSL3_CLIENT, SP_PROT_SSL3_SERVER},
    {"tls1", SP_PROT_TLS1_0_CLIENT, SP_PROT_TLS1_0_SERVER},
    {"tls1.0", SP_PROT_TLS1_0_CLIENT, SP_PROT_TLS1_0_SERVER},
    {"tls1.1", SP_PROT_TLS1_1_CLIENT, SP_PROT_TLS1_1_SERVER},
    {"tls1.2", SP_PROT_TLS1_2_CLIENT, SP_PROT_TLS1_2_SERVER},
    {"tls1.3", SP_PROT_TLS1_3_CLIENT, SP_PROT_TLS1_3_SERVER},
    {NULL, 0, 0}
};

#define ALL_PROTOCOLS (SP_PROT_SSL2 | SP_PROT_SSL3 | SP_PROT_TLS1_0 \
	| SP_PROT_TLS1_1 | SP_PROT_TLS1_2 | SP_PROT_TLS1_3)
#define DEFAULT_PROTOCOLS (SP_PROT_TLS1_2 | SP_PROT_TLS1_3)
#define CLIENT_PROTOCOLS (SP_PROT_SSL2_CLIENT | SP_PROT_SSL3_CLIENT \
	| SP_PROT_TLS1_0_CLIENT | SP_PROT_TLS1_1_CLIENT | SP_PROT_TLS1_2_CLIENT \
	| SP_PROT_TLS1_3_CLIENT)
#define SERVER_PROTOCOLS (ALL_PROTOCOLS & ~CLIENT_PROTOCOLS)

/*
 * Creds_ProtocolName --
 *	The script-level name of one SP_PROT_* bit (either role), or NULL.
 */
const char *
Creds_ProtocolName(DWORD protocol)
{
    for (const ProtocolName *p = protocolNames; p->name; p++) {
	if (protocol & (p->client | p->server)) {
	    return (p->client == SP_PROT_TLS1_0_CLIENT) ? "tls1.0" : p->name;
	}
    }
    return NULL;
}

/*
 * ParseProtocols --
 *	Converts a list of protocol names into SP_PROT_* bits of both roles.
 *	Returns TCL_OK or TCL_ERROR with a message.
 */
static int
ParseProtocols(Tcl_Interp *interp, Tcl_Obj *list, DWORD *bits)
{
    Tcl_Size n;
    Tcl_Obj **elems;
    if (Tcl_ListObjGetElements(interp, list, &n, &elems) != TCL_OK) {
	return TCL_ERROR;
    }
    *bits = 0;
    for (Tcl_Size i = 0; i < n; i++) {
	int index;
	if (Tcl_GetIndexFromObjStruct(interp, elems[i], protocolNames,
		sizeof(ProtocolName), "protocol", 0, &index) != TCL_OK) {
	    Tcl_SetErrorCode(interp, "SCHANNEL", "CREDENTIALS", "PROTOCOL",
		    Tcl_GetString(elems[i]), NULL);
	    return TCL_ERROR;
	}
	*bits |= protocolNames[index].client | protocolNames[index].server;
    }
    if (*bits == 0) {
	return Error_Simple(interp, "CREDENTIALS", "PROTOCOL",
		"-protocols needs at least one protocol");
    }
    return TCL_OK;
}

/*
 * ParseLifespan --
 *	Reads a -sessionlifespan value: milliseconds, 0 to 2^31-1. Returns
 *	TCL_OK or TCL_ERROR with a message.
 */
static int
ParseLifespan(Tcl_Interp *interp, Tcl_Obj *value, DWORD *msPtr)
{
    Tcl_WideInt ms;
    if (Tcl_GetWideIntFromObj(interp, value, &ms) != TCL_OK) {
	return TCL_ERROR;
    }
    if (ms < 0 || ms > 0x7fffffff) {
	return Error_Simple(interp, "CREDENTIALS", "SESSIONLIFESPAN",
		"-sessionlifespan needs milliseconds, 0 to 2147483647");
    }
    *msPtr = (DWORD) ms;
    return TCL_OK;
}

/*
 * Creds_SchannelCredentialsCmd --
 *	sspi_schannel_credentials ?-certificates L? ?-protocols L?
 *	    ?-cipherstrength {MIN ?MAX?}? ?-rootstore H? ?-sessionlifespan MS?
 *	Validates the options and returns the description as a dict.
 */
int
Creds_SchannelCredentialsCmd(void *clientData, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-certificates", "-protocols", "-cipherstrength", "-rootstore",
	"-sessionlifespan", NULL
    };
    (void) clientData;
    Tcl_Obj *desc = Tcl_NewDictObj();
    Tcl_DictObjPut(NULL, desc, Tcl_NewStringObj("type", -1),
	    Tcl_NewStringObj("schannel", -1));
    for (int i = 1; i < objc; i += 2) {
	int index;
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    goto error;
	}
	if (i + 1 >= objc) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "value for \"%s\" missing", options[index]));
	    Tcl_SetErrorCode(interp, "TCL", "ARGUMENT", "MISSING", NULL);
	    goto error;
	}
	Tcl_Obj *value = objv[i + 1];
	Tcl_Size n;
	Tcl_Obj **elems;
	DWORD bits;
	switch (index) {
	case 0:
	    if (Tcl_ListObjGetElements(interp, value, &n, &elems) != TCL_OK) {
		goto error;
	    }
	    for (Tcl_Size k = 0; k < n; k++) {
		if (Cert_Get(interp, elems[k]) == NULL) {
		    goto error;
		}
	    }
	    break;
	case 1:
	    if (ParseProtocols(interp, value, &bits) != TCL_OK) {
		goto error;
	    }
	    break;
	case 2:
	    if (Tcl_ListObjGetElements(interp, value, &n, &elems) != TCL_OK) {
		goto error;
	    }
	    if (n < 1 || n > 2) {
		Error_Simple(interp, "CREDENTIALS", "CIPHERSTRENGTH",
			"-cipherstrength needs {MIN ?MAX?}");
		goto error;
	    }
	    long bound[2] = {0, 0};
	    for (Tcl_Size k = 0; k < n; k++) {
		if (Tcl_GetLongFromObj(interp, elems[k], &bound[k]) != TCL_OK) {
		    goto error;
		}
	    }
	    if (bound[0] < 0 || bound[1] < 0 || (n == 2 && bound[0] > bound[1])) {
		Error_Simple(interp, "CREDENTIALS", "CIPHERSTRENGTH",
			"-cipherstrength needs {MIN ?MAX?} in bits, 0 <= MIN <= MAX");
		goto error;
	    }
	    break;
	case 3:
	    if (Handle_Get(interp, value, HANDLE_STORE) == NULL) {
		goto error;
	    }
	    break;
	case 4: {
	    DWORD ms;
	    if (ParseLifespan(interp, value, &ms) != TCL_OK) {
		goto error;
	    }
	    break;
	}
	}
	Tcl_DictObjPut(NULL, desc, Tcl_NewStringObj(options[index] + 1, -1),
		value);
    }
    Tcl_SetObjResult(interp, desc);
    return TCL_OK;

  error:
    Tcl_DecrRefCount(desc);
    return TCL_ERROR;
}

/*
 * DescriptionValue --
 *	Looks up a key of a credentials description; NULL when absent.
 */
static Tcl_Obj *
DescriptionValue(Tcl_Obj *desc, const char *key)
{
    Tcl_Obj *value = NULL;
    if (desc != NULL) {
	Tcl_Obj *keyObj = Tcl_NewStringObj(key, -1);
	Tcl_IncrRefCount(keyObj);
	Tcl_DictObjGet(NULL, desc, keyObj, &value);
	Tcl_DecrRefCount(keyObj);
    }
    return value;
}

/*
 * AcquireWithSchCredentials --
 *	AcquireCredentialsHandle with SCH_CREDENTIALS (needed for TLS 1.3):
 *	the protocols not asked for are disabled through TLS_PARAMETERS.
 */
static SECURITY_STATUS
AcquireWithSchCredentials(Cred *cred, PCCERT_CONTEXT *certs, DWORD nCerts,
	DWORD flags, DWORD protocols, HCERTSTORE root, DWORD lifespan)
{
    TLS_PARAMETERS tls;
    SCH_CREDENTIALS sc;
    TimeStamp expiry;
    memset(&tls, 0, sizeof(tls));
    memset(&sc, 0, sizeof(sc));
    tls.grbitDisabledProtocols = ALL_PROTOCOLS & ~protocols;
    sc.dwVersion = SCH_CREDENTIALS_VERSION;
    sc.cCreds = nCerts;
    sc.paCred = certs;
    sc.hRootStore = root;
    sc.dwSessionLifespan = lifespan;
    sc.dwFlags = flags;
    sc.cTlsParameters = 1;
    sc.pTlsParameters = &tls;
    SECURITY_STATUS status = AcquireCredentialsHandleW(NULL,
	    (LPWSTR) UNISP_NAME_W,
	    cred->isServer ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND, NULL,
	    &sc, NULL, NULL, &cred->handle, &expiry);
    cred->expiry = expiry.QuadPart;
    return status;
}

/*
 * AcquireWithSchannelCred --
 *	AcquireCredentialsHandle with the older SCHANNEL_CRED structure,
 *	which every Windows accepts but which cannot enable TLS 1.3.
 */
static SECURITY_STATUS
AcquireWithSchannelCred(Cred *cred, PCCERT_CONTEXT *certs, DWORD nCerts,
	DWORD flags, DWORD protocols, HCERTSTORE root, DWORD lifespan,
	DWORD minStrength, DWORD maxStrength)
{
    SCHANNEL_CRED sc;
    TimeStamp expiry;
    memset(&sc, 0, sizeof(sc));
    sc.dwVersion = SCHANNEL_CRED_VERSION;
    sc.cCreds = nCerts;
    sc.paCred = certs;
    sc.hRootStore = root;
    sc.grbitEnabledProtocols = protocols & ~SP_PROT_TLS1_3
	    & (cred->isServer ? SERVER_PROTOCOLS : CLIENT_PROTOCOLS);
    sc.dwMinimumCipherStrength = minStrength;
    sc.dwMaximumCipherStrength = maxStrength;
    sc.dwSessionLifespan = lifespan;
    sc.dwFlags = flags;
    if (sc.grbitEnabledProtocols == 0) {
	return SEC_E_ALGORITHM_MISMATCH;
    }
    SECURITY_STATUS status = AcquireCredentialsHandleW(NULL,
	    (LPWSTR) UNISP_NAME_W,
	    cred->isServer ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND, NULL,
	    &sc, NULL, NULL, &cred->handle, &expiry);
    cred->expiry = expiry.QuadPart;
    return status;
}

/*
 * Cred_Acquire --
 *	Acquires Schannel credentials for one role from a description made by
 *	sspi_schannel_credentials (NULL: defaults). Returns a Cred with one
 *	reference, or NULL with an error in interp.
 */
Cred *
Cred_Acquire(Tcl_Interp *interp, Tcl_Obj *desc, int isServer)
{
    DWORD protocols = DEFAULT_PROTOCOLS, lifespan = 0;
    DWORD minStrength = 0, maxStrength = 0;
    HCERTSTORE root = NULL;
    PCCERT_CONTEXT certs[16];
    DWORD nCerts = 0;
    Tcl_Obj *value;
    Tcl_Size n;
    Tcl_Obj **elems;

    if ((value = DescriptionValue(desc, "protocols")) != NULL
	    && ParseProtocols(interp, value, &protocols) != TCL_OK) {
	return NULL;
    }
    if ((value = DescriptionValue(desc, "certificates")) != NULL) {
	if (Tcl_ListObjGetElements(interp, value, &n, &elems) != TCL_OK) {
	    return NULL;
	}
	if (n > 16) {
	    Error_Simple(interp, "CREDENTIALS", "CERTIFICATES",
		    "too many certificates (at most 16)");
	    return NULL;
	}
	for (Tcl_Size k = 0; k < n; k++) {
	    if ((certs[nCerts++] = Cert_Get(interp, elems[k])) == NULL) {
		return NULL;
	    }
	}
    }
    if ((value = DescriptionValue(desc, "rootstore")) != NULL
	    && (root = Handle_Get(interp, value, HANDLE_STORE)) == NULL) {
	return NULL;
    }
    if ((value = DescriptionValue(desc, "sessionlifespan")) != NULL) {
	/* Checked again: a description may be written by hand. */
	if (ParseLifespan(interp, value, &lifespan) != TCL_OK) {
	    return NULL;
	}
    }
    if ((value = DescriptionValue(desc, "cipherstrength")) != NULL) {
	/* Checked again: a description may be written by hand. */
	long bound[2] = {0, 0};
	if (Tcl_ListObjGetElements(interp, value, &n, &elems) != TCL_OK) {
	    return NULL;
	}
	for (Tcl_Size k = 0; k < n && k < 2; k++) {
	    if (Tcl_GetLongFromObj(interp, elems[k], &bound[k]) != TCL_OK) {
		return NULL;
	    }
	}
	if (n < 1 || n > 2 || bound[0] < 0 || bound[1] < 0
		|| (n == 2 && bound[0] > bound[1])) {
	    Error_Simple(interp, "CREDENTIALS", "CIPHERSTRENGTH",
		    "-cipherstrength needs {MIN ?MAX?} in bits, 0 <= MIN <= MAX");
	    return NULL;
	}
	minStrength = (DWORD) bound[0];
	maxStrength = (DWORD) bound[1];
    }
    if (isServer && nCerts == 0) {
	Error_Simple(interp, "CREDENTIALS", "NOCERTIFICATE",
		"server credentials need a certificate (-certificates)");
	return NULL;
    }

    Cred *cred = (Cred *) ckalloc(sizeof(Cred));
    memset(cred, 0, sizeof(*cred));
    cred->isServer = isServer;
    cred->protocols = protocols;
    cred->minStrength = minStrength;
    cred->maxStrength = maxStrength;
    cred->refCount = 1;
    DWORD flags = isServer ? 0 : (SCH_CRED_MANUAL_CRED_VALIDATION
	    | SCH_CRED_NO_DEFAULT_CREDS | SCH_CRED_NO_SERVERNAME_CHECK);
    SECURITY_STATUS status = SEC_E_UNKNOWN_CREDENTIALS;
    /* SCH_CREDENTIALS has no cipher strength bounds: credentials that set
     * them use SCHANNEL_CRED, which honours them (without TLS 1.3). */
    if ((protocols & SP_PROT_TLS1_3) && minStrength == 0 && maxStrength == 0) {
	status = AcquireWithSchCredentials(cred, certs, nCerts, flags,
		protocols, root, lifespan);
    }
    if (status != SEC_E_OK) {
	status = AcquireWithSchannelCred(cred, certs, nCerts, flags,
		protocols, root, lifespan, minStrength, maxStrength);
    }
    if (status != SEC_E_OK) {
	ckfree(cred);
	Error_Set(interp, "CREDENTIALS", status, "cannot acquire credentials");
	return NULL;
    }
    if (isServer) {
	cred->serverCert = CertDuplicateCertificateContext(certs[0]);
    }
    Stats_Add(STAT_CREDENTIALS, 1);
    return cred;
}

/*
 * Cred_Retain, Cred_Release --
 *	Reference counting; the last release frees the SSPI credentials.
 */
void
Cred_Retain(Cred *cred)
{
    /* Atomic: channels sharing credentials may be in different threads. */
    __atomic_add_fetch(&cred->refCount, 1, __ATOMIC_RELAXED);
}

void
Cred_Release(Cred *cred)
{
    if (__atomic_sub_fetch(&cred->refCount, 1, __ATOMIC_ACQ_REL) > 0) {
	return;
    }
    FreeCredentialsHandle(&cred->handle);
    if (cred->serverCert != NULL) {
	CertFreeCertificateContext(cred->serverCert);
    }
    if (cred->name != NULL) {
	ckfree(cred->name);
    }
    ckfree(cred);
    Stats_Add(STAT_CREDENTIALS, -1);
}

/*
 * Creds_AcquireCmd --
 *	sspi_acquire_credentials ?-credentials C? ?-package unisp|schannel?
 *	    ?-role client|server? ?-getexpiration?
 *	Returns a credentials handle ({handle expiration} with -getexpiration).
 */
int
Creds_AcquireCmd(void *clientData, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    static const char *const options[] = {
	"-credentials", "-package", "-role", "-getexpiration", NULL
    };
    static const char *const roles[] = {
	"client", "server", "outbound", "inbound", NULL
    };
    Tcl_Obj *desc = NULL;
    int role = 0, getExpiration = 0;
    (void) clientData;

    for (int i = 1; i < objc; i++) {
	int index;
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (index == 3) {
	    getExpiration = 1;
	    continue;
	}
	if (++i >= objc) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf("value for \"%s\" missing",
		    options[index]));
	    Tcl_SetErrorCode(interp, "TCL", "ARGUMENT", "MISSING", NULL);
	    return TCL_ERROR;
	}
	if (index == 0) {
	    desc = objv[i];
	} else if (index == 1) {
	    const char *pkg = Tcl_GetString(objv[i]);
	    if (strcasecmp(pkg, "unisp") != 0 && strcasecmp(pkg, "schannel") != 0
		    && strcasecmp(pkg, "Microsoft Unified Security Protocol Provider") != 0) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"unsupported package \"%s\": only the Schannel provider"
			" (unisp, schannel) is supported", pkg));
		Tcl_SetErrorCode(interp, "SCHANNEL", "CREDENTIALS", "PACKAGE",
			pkg, NULL);
		return TCL_ERROR;
	    }
	} else if (Tcl_GetIndexFromObj(interp, objv[i], roles, "role", 0,
		&role) != TCL_OK) {
	    return TCL_ERROR;
	}
    }
    if (desc != NULL) {
	Tcl_Obj *type = DescriptionValue(desc, "type");
	if (type == NULL || strcmp(Tcl_GetString(type), "schannel") != 0) {
	    return Error_Simple(interp, "CREDENTIALS", "DESCRIPTION",
		    "-credentials needs a value made by sspi_schannel_credentials");
	}
    }
    Cred *cred = Cred_Acquire(interp, desc, role == 1 || role == 3);
    if (cred == NULL) {
	return TCL_ERROR;
    }
    Tcl_Obj *name = Handle_New(interp, HANDLE_CRED, cred);
    /* A C copy: channels holding the credentials may live in other
     * threads, where a Tcl_Obj of this one must not be touched. */
    cred->name = ckalloc(strlen(Tcl_GetString(name)) + 1);
    strcpy(cred->name, Tcl_GetString(name));
    if (getExpiration) {
	Tcl_Obj *pair[2] = {name, Tcl_NewWideIntObj(cred->expiry)};
	Tcl_SetObjResult(interp, Tcl_NewListObj(2, pair));
    } else {
	Tcl_SetObjResult(interp, name);
    }
    return TCL_OK;
}

/*
 * Creds_FreeCmd --
 *	sspi_free_credentials H: releases the script's reference; channels
 *	that use the credentials keep theirs.
 */
int
Creds_FreeCmd(void *clientData, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    (void) clientData;
    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "credentials");
	return TCL_ERROR;
    }
    Cred *cred = Handle_Remove(interp, objv[1], HANDLE_CRED);
    if (cred == NULL) {
	return TCL_ERROR;
    }
    Cred_Release(cred);
    return TCL_OK;
}
