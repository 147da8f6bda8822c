// Everything is in the header, inlined where it is used; SwiftPM needs one source file.
#include "BN254Kernels.h"
