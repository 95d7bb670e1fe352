"""Show commands about the box itself (archive, flash, inventory, memory, CPU, hosts), in
IOS 15.2 Catalyst format. Nothing here reads the wall clock: dates are the ones a
Catalyst without a calendar prints (1993), so outputs are stable between reads."""

from __future__ import annotations

from isolate.lab.ios.config import IosConfig

FLASH_TOTAL = 122185728
NO_ARCHIVE = " Archive feature not enabled\n"


def archive(config: IosConfig, files: list[str]) -> str:
    if not config.archive_enabled or config.archive_path is None:
        return NO_ARCHIVE
    maximum = config.archive_maximum or 10
    kept = files[-maximum:]
    out = [f"The maximum archive configurations allowed is {maximum}.",
           f"There are currently {len(kept)} archive configurations saved.",
           f"The next archive file will be named {config.archive_path}-{len(files) + 1}",
           " Archive #  Name"]
    for i in range(1, maximum + 1):
        if i <= len(kept):
            mark = " <- Most Recent" if i == len(kept) else ""
            out.append(f"   {i:<2}       {kept[i - 1]}{mark}")
        else:
            out.append(f"   {i:<2}       ")
    return "\n".join(out) + "\n"


def _entry(index: int, size: int, name: str, directory: bool = False) -> str:
    perm = "drwx" if directory else "-rwx"
    return f"{index:>5}  {perm}  {size:>10}   Mar 1 1993 00:03:36 +00:00  {name}"


def flash_files(image: str, startup_size: int | None,
                archives: list[str]) -> list[tuple[str, int, bool]]:
    files: list[tuple[str, int, bool]] = [(image.removesuffix(".bin"), 512, True),
                                          ("vlan.dat", 1048, False)]
    if startup_size is not None:
        files += [("config.text", startup_size, False), ("private-config.text", 1915, False)]
    files += [(name.split(":", 1)[-1], startup_size or 4096, False) for name in archives]
    return files


def directory(files: list[tuple[str, int, bool]], only: str | None = None) -> str:
    shown = [f for f in files if only is None or f[0] == only]
    if only is not None and not shown:
        return f"%Error opening flash:/{only} (No such file or directory)\n"
    used = sum(size for _, size, _ in files)
    out = ["Directory of flash:/", ""]
    out += [_entry(i + 2, size, name, is_dir) for i, (name, size, is_dir) in enumerate(files)
            if only is None or name == only]
    out += ["", f"{FLASH_TOTAL} bytes total ({FLASH_TOTAL - 26284544 - used} bytes free)"]
    return "\n".join(out) + "\n"


def inventory(model: str, serial: str) -> str:
    return (f'NAME: "1", DESCR: "{model}"\n'
            f"PID: {model}  , VID: V05  , SN: {serial}\n\n")


MEMORY = ("                Head    Total(b)     Used(b)     Free(b)   Lowest(b)  Largest(b)\n"
          "Processor    2C8F0B0   182234448    37349472   144884976   143393380   105097424\n"
          "      I/O    7400000    12582916     7986068     4596848     4530256     4574384\n")
CPU = "CPU utilization for five seconds: 5%/0%; one minute: 6%; five minutes: 6%\n"


def hosts(domain: str | None) -> str:
    return (f"Default domain is {domain or 'not set'}\n"
            "Name/address lookup uses static mappings\n\n"
            "Codes: UN - unknown, EX - expired, OK - OK, ?? - revalidate\n"
            "       temp - temporary, perm - permanent\n"
            "       NA - Not Applicable None - Not defined\n\n"
            "Host                      Port  Flags      Age Type   Address(es)\n")


def vtp_status(config: IosConfig, device_id: str) -> str:
    """``show vtp status`` of a Catalyst running VTP version 1 (IOS 15.2)."""
    svis = sorted((int(name[4:]), iface.ip_address) for name, iface in config.interfaces.items()
                  if name.startswith("Vlan") and iface.ip_address and not iface.shutdown)
    updater = (f"Local updater ID is {svis[0][1]} on interface Vl{svis[0][0]} "
               "(lowest numbered VLAN interface found)" if svis
               else "Local updater ID is 0.0.0.0 (no valid interface found)")
    mode = config.vtp_mode.capitalize()
    revision = 0 if config.vtp_mode == "transparent" else config.vtp_revision
    lines = ["VTP Version capable             : 1 to 3",
             "VTP version running             : 1",
             f"VTP Domain Name                 : {config.vtp_domain}",
             "VTP Pruning Mode                : Disabled",
             "VTP Traps Generation            : Disabled",
             f"Device ID                       : {device_id}",
             "Configuration last modified by 0.0.0.0 at 3-1-93 00:03:36",
             updater, "", "Feature VLAN:", "--------------",
             f"VTP Operating Mode                : {mode}",
             "Maximum VLANs supported locally   : 255",
             f"Number of existing VLANs          : {len(set(config.vlans) - {1}) + 5}",
             f"Configuration Revision            : {revision}",
             "MD5 digest                        : 0x6C 0x2B 0x83 0xE9 0xB8 0x5E 0x05 0xA5 ",
             "                                    0xCE 0x0A 0x57 0x8C 0xEA 0xA3 0xFD 0x30 "]
    return "\n".join(lines) + "\n"
