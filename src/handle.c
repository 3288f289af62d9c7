/*
 * handle.c --
 *
 *	The registry of opaque handles given to scripts (credentials, security
 *	contexts, certificates, stores): a handle is a string such as
 *	"cert#12" that maps to a pointer and a type. A released, mistyped or
 *	made-up handle is a Tcl error, never a crash. Also keeps the counts of
 *	live objects reported by schannel::stats.
 *
 *	The registry is process-wide (channels may move between threads) and
 *	guarded by a mutex.
 */

#include <stdio.h>
#include "schannelInt.h"

typedef struct HandleEntry {
    HandleType type;
    void *ptr;
    Tcl_Interp *owner;		/* Interp whose deletion releases the object,
				 * or NULL (contexts belong to channels). */
} HandleEntry;

static const char *const handlePrefix[HANDLE_TYPES] = {
    "cred", "ctx", "cert", "store"
};
static const char *const handleDescription[HANDLE_TYPES] = {
    "credentials", "security context", "certificate", "certificate store"
};

TCL_DECLARE_MUTEX(registryMutex)
static Tcl_HashTable registry;
static int registryReady = 0;
static unsigned long nextId = 1;
static long statCounts[STAT_KINDS];

/*
 * Handle_New --
 *	Registers ptr under a fresh name and returns the name (refcount 0).
 *	The object is released when `owner` is deleted, if the script has not
 *	released it before.
 */
Tcl_Obj *
Handle_New(Tcl_Interp *owner, HandleType type, void *ptr)
{
    char name[40];
    int isNew;

    Tcl_MutexLock(&registryMutex);
    if (!registryReady) {
	Tcl_InitHashTable(&registry, TCL_STRING_KEYS);
	registryReady = 1;
    }
    snprintf(name, sizeof(name), "%s#%lu", handlePrefix[type], nextId++);
    Tcl_HashEntry *h = Tcl_CreateHashEntry(&registry, name, &isNew);
    HandleEntry *entry = (HandleEntry *) ckalloc(sizeof(HandleEntry));
    entry->type = type;
    entry->ptr = ptr;
    entry->owner = owner;
    Tcl_SetHashValue(h, entry);
    Tcl_MutexUnlock(&registryMutex);
    return Tcl_NewStringObj(name, -1);
}

/*
 * Lookup --
 *	Finds the entry of a name with the registry locked. On failure leaves
 *	an error in interp (if given) and returns NULL.
 */
static Tcl_HashEntry *
Lookup(Tcl_Interp *interp, Tcl_Obj *nameObj, HandleType type)
{
    const char *name = Tcl_GetString(nameObj);
    Tcl_HashEntry *h = registryReady ? Tcl_FindHashEntry(&registry, name) : NULL;
    if (h != NULL && ((HandleEntry *) Tcl_GetHashValue(h))->type == type) {
	return h;
    }
    if (interp != NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"invalid %s handle \"%s\": not a handle, or already released",
		handleDescription[type], name));
	Tcl_SetErrorCode(interp, "SCHANNEL", "HANDLE", handlePrefix[type],
		name, NULL);
    }
    return NULL;
}

/*
 * Handle_Get --
 *	Returns the pointer of a live handle of the given type, or NULL with
 *	an error in interp.
 */
void *
Handle_Get(Tcl_Interp *interp, Tcl_Obj *name, HandleType type)
{
    void *ptr = NULL;
    Tcl_MutexLock(&registryMutex);
    Tcl_HashEntry *h = Lookup(interp, name, type);
    if (h != NULL) {
	ptr = ((HandleEntry *) Tcl_GetHashValue(h))->ptr;
    }
    Tcl_MutexUnlock(&registryMutex);
    return ptr;
}

/*
 * Handle_Remove --
 *	Unregisters a handle and returns its pointer (the caller releases the
 *	object), or NULL with an error in interp.
 */
void *
Handle_Remove(Tcl_Interp *interp, Tcl_Obj *name, HandleType type)
{
    void *ptr = NULL;
    Tcl_MutexLock(&registryMutex);
    Tcl_HashEntry *h = Lookup(interp, name, type);
    if (h != NULL) {
	HandleEntry *entry = Tcl_GetHashValue(h);
	ptr = entry->ptr;
	ckfree(entry);
	Tcl_DeleteHashEntry(h);
    }
    Tcl_MutexUnlock(&registryMutex);
    return ptr;
}

/*
 * UnregisterMatching --
 *	Removes from the registry every entry for which match(entry, key) is
 *	true. Returns how many; with `removedPtr`, also a ckalloc'd array of
 *	copies of them (the caller releases the objects and frees it).
 */
static size_t
UnregisterMatching(int (*match)(const HandleEntry *, const void *),
	const void *key, HandleEntry **removedPtr)
{
    Tcl_HashSearch search;
    HandleEntry *removed = NULL;
    size_t count = 0, room = 0;

    Tcl_MutexLock(&registryMutex);
    if (registryReady) {
	Tcl_HashEntry *h = Tcl_FirstHashEntry(&registry, &search);
	while (h != NULL) {
	    HandleEntry *entry = Tcl_GetHashValue(h);
	    Tcl_HashEntry *next = Tcl_NextHashEntry(&search);
	    if (match(entry, key)) {
		if (removedPtr != NULL) {
		    if (count == room) {
			room = room ? 2 * room : 16;
			removed = (HandleEntry *) ckrealloc(removed,
				room * sizeof(HandleEntry));
		    }
		    removed[count] = *entry;
		}
		count++;
		ckfree(entry);
		Tcl_DeleteHashEntry(h);
	    }
	    h = next;
	}
    }
    Tcl_MutexUnlock(&registryMutex);
    if (removedPtr != NULL) {
	*removedPtr = removed;
    }
    return count;
}

/* Match functions for UnregisterMatching. */
static int
SameObject(const HandleEntry *entry, const void *key)
{
    const HandleEntry *wanted = key;
    return entry->type == wanted->type && entry->ptr == wanted->ptr;
}
static int
SameOwner(const HandleEntry *entry, const void *key)
{
    return entry->owner == (const Tcl_Interp *) key;
}

/*
 * Handle_ForgetPtr --
 *	Unregisters every handle of the given type that maps to ptr (used when
 *	the object dies by itself, e.g. a context when its channel closes).
 */
void
Handle_ForgetPtr(HandleType type, void *ptr)
{
    HandleEntry wanted = {type, ptr, NULL};
    UnregisterMatching(SameObject, &wanted, NULL);
}

/*
 * Handle_ReleaseOwnedBy --
 *	Releases every credential, certificate and store that an interpreter
 *	being deleted still holds (channels keep their own references), and
 *	forgets their names. Unregisters first and releases after, outside
 *	the registry lock (releasing may take other locks).
 */
void
Handle_ReleaseOwnedBy(Tcl_Interp *owner)
{
    HandleEntry *orphans;
    size_t count = UnregisterMatching(SameOwner, owner, &orphans);

    for (size_t i = 0; i < count; i++) {
	switch (orphans[i].type) {
	case HANDLE_CRED:
	    Cred_Release(orphans[i].ptr);
	    break;
	case HANDLE_CERT:
	    CertFreeCertificateContext(orphans[i].ptr);
	    Stats_Add(STAT_CERTIFICATES, -1);
	    break;
	case HANDLE_STORE:
	    CertCloseStore(orphans[i].ptr, 0);
	    Stats_Add(STAT_STORES, -1);
	    break;
	default:
	    break;
	}
    }
    if (orphans != NULL) {
	ckfree(orphans);
    }
}

/*
 * Stats_Add --
 *	Adjusts the live count of one kind of object.
 */
void
Stats_Add(StatKind kind, int delta)
{
    Tcl_MutexLock(&registryMutex);
    statCounts[kind] += delta;
    Tcl_MutexUnlock(&registryMutex);
}

/*
 * Schannel_StatsCmd --
 *	schannel::stats: a dict of live object counts (credentials, contexts,
 *	certificates, stores, channels, handles) and the bytes of buffer
 *	storage the TLS channels hold (buffer_bytes), for leak checks.
 */
int
Schannel_StatsCmd(void *clientData, Tcl_Interp *interp, int objc,
	Tcl_Obj *const objv[])
{
    static const char *const names[STAT_KINDS] = {
	"credentials", "contexts", "certificates", "stores", "channels"
    };
    (void) clientData;
    if (objc != 1) {
	Tcl_WrongNumArgs(interp, 1, objv, NULL);
	return TCL_ERROR;
    }
    Tcl_Obj *result = Tcl_NewDictObj();
    Tcl_MutexLock(&registryMutex);
    for (int i = 0; i < STAT_KINDS; i++) {
	Tcl_DictObjPut(NULL, result, Tcl_NewStringObj(names[i], -1),
		Tcl_NewLongObj(statCounts[i]));
    }
    Tcl_DictObjPut(NULL, result, Tcl_NewStringObj("handles", -1),
	    Tcl_NewLongObj(registryReady ? registry.numEntries : 0));
    Tcl_DictObjPut(NULL, result, Tcl_NewStringObj("buffer_bytes", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) ByteBuf_AllocatedBytes()));
    Tcl_MutexUnlock(&registryMutex);
    Tcl_SetObjResult(interp, result);
    return TCL_OK;
}
