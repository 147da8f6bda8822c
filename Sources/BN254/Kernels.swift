#if ZKP_ADX_KERNELS
    import BN254Kernels

    // The assembly Montgomery product (BN254Kernels) takes and returns C structs of four
    // (or eight) limbs; these conversions are register moves once inlined.
    extension UInt256 {
        @inlinable @inline(__always)
        init(_ limbs: zkp_limbs) { self.init(limbs.l0, limbs.l1, limbs.l2, limbs.l3) }

        @inlinable @inline(__always)
        var limbs: zkp_limbs { zkp_limbs(l0: l0, l1: l1, l2: l2, l3: l3) }
    }

    extension UInt512 {
        @inlinable @inline(__always)
        init(_ limbs: zkp_wide_limbs) { self.init(low: UInt256(limbs.low), high: UInt256(limbs.high)) }

        @inlinable @inline(__always)
        var limbs: zkp_wide_limbs { zkp_wide_limbs(low: low.limbs, high: high.limbs) }
    }
#endif
