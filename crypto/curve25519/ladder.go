package curve25519

// scalarMultGeneric sets dst = scalar·point on the Montgomery u-line with
// the constant-time Montgomery ladder of RFC 7748 section 5. scalar must
// already be clamped. dst may alias scalar or point.
func scalarMultGeneric(dst, scalar, point *[32]byte) {
	var x1 fieldElement
	x1.setBytes(point)
	ladder(dst, scalar, &x1, 0)
}

// scalarBaseMultLadderGeneric sets dst = scalar·9 with the ladder,
// multiplying by the base point's u = 9 with a small-constant product.
func scalarBaseMultLadderGeneric(dst, scalar *[32]byte) {
	var x1 fieldElement
	x1.l0 = 9
	ladder(dst, scalar, &x1, 9)
}

// ladder runs the Montgomery ladder over the 255 bits of the clamped
// scalar from the top. When small is non-zero it is the value of x1 and
// the multiplication by x1 uses mul32. The only scalar-dependent operation
// is the masked swap: no branch and no memory index depends on a secret.
func ladder(dst, scalar *[32]byte, x1 *fieldElement, small uint32) {
	e := *scalar
	var x2, z2, x3, z3, tmp0, tmp1 fieldElement
	x2.one()
	x3 = *x1
	z3.one()

	var swap uint64
	for pos := 254; pos >= 0; pos-- {
		b := uint64(e[pos>>3]>>(pos&7)) & 1
		swap ^= b
		mask := -swap
		x2.swap(&x3, mask)
		z2.swap(&z3, mask)
		swap = b

		tmp0.sub(&x3, &z3)     // D = x3 - z3
		tmp1.sub(&x2, &z2)     // B = x2 - z2
		x2.add(&x2, &z2)       // A = x2 + z2
		z2.add(&x3, &z3)       // C = x3 + z3
		z3.mul(&tmp0, &x2)     // DA
		z2.mul(&z2, &tmp1)     // CB
		tmp0.square(&tmp1)     // BB
		tmp1.square(&x2)       // AA
		x3.add(&z3, &z2)       // DA + CB
		z2.sub(&z3, &z2)       // DA - CB
		x2.mul(&tmp1, &tmp0)   // x2 = AA·BB
		tmp1.sub(&tmp1, &tmp0) // E = AA - BB
		z2.square(&z2)         // (DA - CB)^2
		z3.mul32(&tmp1, 121666)
		x3.square(&x3)       // x3 = (DA + CB)^2
		tmp0.add(&tmp0, &z3) // BB + 121666·E = AA + 121665·E
		if small != 0 {      // public: which entry point, not the scalar
			z3.mul32(&z2, small)
		} else {
			z3.mul(x1, &z2) // z3 = x1·(DA - CB)^2
		}
		z2.mul(&tmp1, &tmp0) // z2 = E·(AA + a24·E)
	}
	mask := -swap
	x2.swap(&x3, mask)
	z2.swap(&z3, mask)

	z2.invert(&z2)
	x2.mul(&x2, &z2)
	x2.bytes(dst)
}

// scalarBaseMultGeneric sets dst = scalar·9.
func scalarBaseMultGeneric(dst, scalar *[32]byte) {
	scalarBaseMultLadderGeneric(dst, scalar)
}
