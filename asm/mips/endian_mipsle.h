// Little-endian MIPS (GOARCH=mipsle): ChaCha20 and Poly1305 words are the
// machine's own words.

// LOADU loads the native word at off(base), aligned or not (LWR/LWL).
#define LOADU(off, base, r) \
	MOVWR	off(base), r \
	MOVWL	off+3(base), r

// STOREU stores r as a native word at off(base), aligned or not.
#define STOREU(r, off, base) \
	MOVWR	r, off(base) \
	MOVWL	r, off+3(base)

// SWAPLE converts between a native word and the value of the same four
// bytes read little-endian: nothing to do here.
#define SWAPLE(r)
