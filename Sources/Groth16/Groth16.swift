// The Groth16 proof system over BN254: R1CS, the QAP computed by NTT on a
// coset, setup, proving, verification (single and batched) and the key and
// proof encodings of the native, snarkjs and Ethereum forms.
//
// Depends on `BN254` only and does no I/O beyond the bytes it is handed.
