#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace quecsim::storage {

/// The module's local storage as a model has it: which areas exist, how large they are, and
/// what names they take (GSM_File_ATC and the FTP manual's 2.2.8). A model profile carries
/// one; the store keeps to it.
struct limits {
  bool has_ram = false;  ///< RAM area ("RAM:name", "/RAM/"): M33; later M95 firmware
  bool has_sd = false;   ///< SD card area ("SD:name", "/SD/"): M33 only
  std::uint64_t ufs_capacity = 2097152;  ///< UFS bytes in all (AT+QFLDS="UFS" total)
  std::uint64_t ram_capacity = 512000;   ///< RAM bytes in all, reservations included
  std::uint64_t sd_capacity = 8388608;   ///< bytes on the SD card
  std::size_t name_max = 80;             ///< longest file name, without the area prefix
  std::string name_forbidden =
      "\\/:*?\"<>|";                          ///< characters a name may not hold (besides controls)
  std::uint64_t ram_get_reserve = 102400;     ///< AT+QFTPGET into RAM reserves this much (2.2.8)
  std::uint64_t ram_default_reserve = 10240;  ///< a RAM file made by QFUPL/QFOPEN without a size
  std::string ram_prefix = "RAM:";            ///< how file commands name a RAM file
  std::string sd_prefix = "SD:";              ///< how file commands name an SD file
  std::string sd_folder = "Picture";          ///< the card folder the SD area is (2.2.8)
  int max_open = 4;                           ///< AT+QFOPEN handles open at once
};

}  // namespace quecsim::storage
