#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace quecsim::ftpd {

/// Confines a session to one folder. Client paths are virtual ("/a/b", relative to the
/// session's "/"); `resolve` turns them into real paths that are proven to stay inside: `..`
/// stops at "/", symlinks are followed and checked, and control bytes are refused.
class jail {
 public:
  /// `root` must be an existing folder; it is made canonical. Throws std::filesystem errors.
  explicit jail(const std::filesystem::path& root);

  /// The canonical real root.
  const std::filesystem::path& root() const { return root_; }

  /// The virtual absolute path `arg` names when the current folder is `cwd` ("/" based,
  /// normalized, no trailing slash except "/"). Nullopt if `arg` holds a NUL or control byte.
  static std::optional<std::string> normalize(std::string_view cwd, std::string_view arg);

  /// The real path of a normalized virtual path, with existing symlinks resolved; nullopt if
  /// it would leave the root (a symlink pointing out, a dangling symlink on the way).
  std::optional<std::filesystem::path> resolve(std::string_view virtual_path) const;

  /// Whether a real path is the root or below it (component-wise, after canonicalization).
  bool contains(const std::filesystem::path& real) const;

 private:
  std::filesystem::path root_;
};

}  // namespace quecsim::ftpd
