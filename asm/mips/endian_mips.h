// Big-endian MIPS (GOARCH=mips): loads and stores are big-endian (LWL at
// the lowest address), and a word is byte-swapped, WSBH then ROTR 16
// (MIPS32r2), to read or write it little-endian.

#define LOADU(off, base, r) \
	MOVWL	off(base), r \
	MOVWR	off+3(base), r

#define STOREU(r, off, base) \
	MOVWL	r, off(base) \
	MOVWR	r, off+3(base)

#define SWAPLE(r) \
	WSBH	r, r \
	ROTR	$16, r
