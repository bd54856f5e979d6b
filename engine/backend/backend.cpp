// Names of ops, for reports and test output.
#include "engine/backend/backend.h"

namespace precis {

const char* opName(Op op) {
  switch (op) {
    case Op::GetRows: return "get_rows";
    case Op::RmsNorm: return "rms_norm";
    case Op::MatMul: return "matmul";
    case Op::Rope: return "rope";
    case Op::StoreRows: return "store_rows";
    case Op::Attention: return "attention";
    case Op::SiluMul: return "silu_mul";
    case Op::Add: return "add";
    case Op::Count: break;
  }
  return "?";
}

}  // namespace precis
