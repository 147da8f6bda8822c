/// The base field of BN254: integers modulo
/// p = 21888242871839275222246405745257275088696311157297823662689037894645226208583.
///
/// Curve coordinates live here (G1) and in its extensions (G2, the pairing's target group).
@frozen
public struct Fp: PrimeField {
    public var montgomery: UInt256

    @inlinable @inline(__always)
    public init(montgomery: UInt256) { self.montgomery = montgomery }

    @inlinable public static var modulus: UInt256 {
        UInt256(0x3c20_8c16_d87c_fd47, 0x9781_6a91_6871_ca8d, 0xb850_45b6_8181_585d, 0x3064_4e72_e131_a029)
    }
    @inlinable public static var montgomeryInverse: UInt64 { 0x87d2_0782_e486_6389 }
    @inlinable public static var montgomeryOne: UInt256 {
        UInt256(0xd35d_438d_c58f_0d9d, 0x0a78_eb28_f5c7_0b3d, 0x666e_a36f_7879_462c, 0x0e0a_77c1_9a07_df2f)
    }
    @inlinable public static var montgomeryRSquared: UInt256 {
        UInt256(0xf32c_fc5b_538a_fa89, 0xb5e7_1911_d445_01fb, 0x47ab_1eff_0a41_7ff6, 0x06d8_9f71_cab8_351f)
    }
    @inlinable public static var twoAdicity: Int { 1 }
    /// −1, the only primitive square root of unity.
    @inlinable public static var twoAdicRootOfUnityMontgomery: UInt256 {
        UInt256(0x68c3_4889_12ed_efaa, 0x8d08_7f68_72aa_bf4f, 0x51e1_a247_0908_1231, 0x2259_d6b1_4729_c0fa)
    }
    @inlinable public static var quadraticNonResidue: UInt64 { 3 }
}
