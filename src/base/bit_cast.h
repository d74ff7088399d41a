// jf::bit_cast: std::bit_cast, which Emscripten 3.1.6's libc++ lacks (GCC and clang both have the
// builtin it is made of).
#pragma once

#include <type_traits>

namespace jf {

template <typename To, typename From>
constexpr To bit_cast(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between types of different sizes");
  static_assert(std::is_trivially_copyable_v<To> && std::is_trivially_copyable_v<From>);
  return __builtin_bit_cast(To, from);
}

}  // namespace jf
