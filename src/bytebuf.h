/*
 * bytebuf.h --
 *
 *	A growable byte buffer with a read offset: the valid bytes are
 *	data[start .. start+len). Used for every ciphertext and plaintext
 *	queue of the TLS engine, so each queue has an explicit length.
 */

#ifndef SCHANNEL_BYTEBUF_H
#define SCHANNEL_BYTEBUF_H

#include <stddef.h>

typedef struct ByteBuf {
    unsigned char *data;	/* Storage, or NULL before first use. */
    size_t start;		/* Offset of the first valid byte. */
    size_t len;			/* Number of valid bytes. */
    size_t cap;			/* Allocated size of data. */
} ByteBuf;

/* Pointer to the first valid byte. */
#define ByteBuf_Head(b)	((b)->data + (b)->start)
/* Pointer just past the last valid byte (where appends go). */
#define ByteBuf_Tail(b)	((b)->data + (b)->start + (b)->len)

int	ByteBuf_Reserve(ByteBuf *b, size_t extra);
int	ByteBuf_Append(ByteBuf *b, const void *src, size_t n);
void	ByteBuf_Consume(ByteBuf *b, size_t n);
size_t	ByteBuf_Take(ByteBuf *b, void *dst, size_t n);
void	ByteBuf_KeepLast(ByteBuf *b, size_t n);
void	ByteBuf_Trim(ByteBuf *b);
void	ByteBuf_Free(ByteBuf *b);
size_t	ByteBuf_AllocatedBytes(void);

#endif
