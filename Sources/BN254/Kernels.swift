#if ZKP_ADX_KERNELS
    import BN254Kernels

    // The assembly Montgomery product (BN254Kernels) takes and returns C structs of four
    // limbs; these conversions are register moves once inlined.
    extension UInt256 {
        @inlinable @inline(__always)
        init(_ limbs: zkp_limbs) { self.init(limbs.l0, limbs.l1, limbs.l2, limbs.l3) }

        @inlinable @inline(__always)
        var limbs: zkp_limbs { zkp_limbs(l0: l0, l1: l1, l2: l2, l3: l3) }
    }
#endif
