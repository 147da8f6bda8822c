// Gadgets and built-in circuits (MiMC, Poseidon, Merkle membership), each with
// a native twin that computes the same values outside a circuit, bit for bit.
//
// Knows nothing of files or the network.
