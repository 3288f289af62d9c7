/*
 * bytebuf.c --
 *
 *	Growable byte buffers with explicit lengths (see bytebuf.h).
 *	Allocation failures are reported as 0 returns, never as crashes.
 */

#include <stdlib.h>
#include <string.h>
#include "bytebuf.h"

/* Bytes of storage held by all buffers of the process (schannel::stats). */
static size_t allocatedBytes;

/*
 * CountBytes --
 *	Adjusts the process-wide storage count; buffers may live in several
 *	threads, so the update is atomic.
 */
static void
CountBytes(size_t added, size_t removed)
{
    __atomic_add_fetch(&allocatedBytes, added, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&allocatedBytes, removed, __ATOMIC_RELAXED);
}

/*
 * ByteBuf_AllocatedBytes --
 *	Bytes of storage held by every buffer of the process.
 */
size_t
ByteBuf_AllocatedBytes(void)
{
    return __atomic_load_n(&allocatedBytes, __ATOMIC_RELAXED);
}

/*
 * ByteBuf_Reserve --
 *	Makes room for at least `extra` bytes after the tail. Moves the valid
 *	bytes to the front first when that is enough. Returns 1, or 0 when
 *	memory is exhausted (the buffer is then unchanged).
 */
int
ByteBuf_Reserve(ByteBuf *b, size_t extra)
{
    size_t need = b->len + extra;
    if (b->start + need <= b->cap) {
	return 1;
    }
    if (need <= b->cap) {
	memmove(b->data, b->data + b->start, b->len);
	b->start = 0;
	return 1;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
	cap *= 2;
    }
    unsigned char *data = malloc(cap);
    if (data == NULL) {
	return 0;
    }
    if (b->len) {
	memcpy(data, b->data + b->start, b->len);
    }
    free(b->data);
    CountBytes(cap, b->cap);
    b->data = data;
    b->start = 0;
    b->cap = cap;
    return 1;
}

/*
 * ByteBuf_Append --
 *	Appends n bytes. Returns 1, or 0 when memory is exhausted.
 */
int
ByteBuf_Append(ByteBuf *b, const void *src, size_t n)
{
    if (n == 0) {
	return 1;
    }
    if (!ByteBuf_Reserve(b, n)) {
	return 0;
    }
    memcpy(ByteBuf_Tail(b), src, n);
    b->len += n;
    return 1;
}

/*
 * ByteBuf_Consume --
 *	Drops the first n valid bytes (n <= len).
 */
void
ByteBuf_Consume(ByteBuf *b, size_t n)
{
    if (n >= b->len) {
	b->start = 0;
	b->len = 0;
    } else {
	b->start += n;
	b->len -= n;
    }
}

/*
 * ByteBuf_Take --
 *	Copies up to n bytes from the head into dst and consumes them.
 *	Returns the number of bytes copied.
 */
size_t
ByteBuf_Take(ByteBuf *b, void *dst, size_t n)
{
    if (n > b->len) {
	n = b->len;
    }
    memcpy(dst, ByteBuf_Head(b), n);
    ByteBuf_Consume(b, n);
    return n;
}

/*
 * ByteBuf_KeepLast --
 *	Keeps only the last n valid bytes (SECBUFFER_EXTRA semantics: the
 *	unconsumed input is always the tail of what was passed in).
 */
void
ByteBuf_KeepLast(ByteBuf *b, size_t n)
{
    if (n < b->len) {
	b->start += b->len - n;
	b->len = n;
    }
    if (b->len == 0) {
	b->start = 0;
    }
}

/*
 * ByteBuf_Trim --
 *	Gives the storage of an empty buffer back (idle connections keep
 *	none); a buffer holding bytes is left alone.
 */
void
ByteBuf_Trim(ByteBuf *b)
{
    if (b->len == 0 && b->data != NULL) {
	ByteBuf_Free(b);
    }
}

/*
 * ByteBuf_Free --
 *	Releases the storage; the buffer is empty and reusable afterwards.
 */
void
ByteBuf_Free(ByteBuf *b)
{
    CountBytes(0, b->cap);
    free(b->data);
    memset(b, 0, sizeof(*b));
}
