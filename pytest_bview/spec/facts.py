"""Numbers, sets and decisions the spec or schemas/ERRATA.md fixes, outside the block and resource tables.

One home per fact: the reference camera's enforcement and the suites' checks both import these constants and
stay separate code, so a bug in one cannot hide in the other. Each constant sits under the words it comes from.
"""

from __future__ import annotations

from pytest_bview.spec.blocks import BLOCKS, MOTION_COLUMNS, MOTION_ROWS
from pytest_bview.spec.resources import RESOURCES
from pytest_bview.spec.streams import MAIN, SUB

# -- what a document holds ---------------------------------------------------------------------------------

# Run-time blocks: computed by the device on every GET, configuration of nobody's, nothing to store or put back:
# 9.2.5.1 DeviceStatus, 9.2.10 LogList ("The device supports up to 1000 log entries"), 9.9.2 EventList,
# 9.1.7.1.2 WIFIAccessPointList (the access points a scan finds)
RUNTIME_BLOCKS = frozenset({"DeviceStatus", "DeviceStatusList", "LogList", "EventList", "WiFiAccessPointList"})

# Fields whose value changes by itself, never a sign that a write was lost or applied: the running clock
# (9.2.2 SystemTime), connection and disk states (9.1.7.1.1.1 DHCP Status, 9.1.7.1.3 State, 9.11 Disk),
# capacities (9.11) and the RTSP URI, which names the host the client used (9.4.1.2.1)
VOLATILE_FIELDS = frozenset(
    {
        "SystemTime",
        "State",
        "Status",
        "AvailableCapacity",
        "TotalCapacity",
        "DiskStorageAttribute",
        "DiskFormatStatus",
        "RTSPURI",
    }
)
# The clock alone: what changes between two reads of a resource nobody touched (9.2.2 SystemTime)
CLOCK_FIELDS = frozenset({"SystemTime"})

# -- restarts and what survives them -------------------------------------------------------------------------

# "The device will be restarted after saving the configuration" (9.1.4 /Network/Port, 9.1.5 /Network/P2P): the
# resources flagged `restart` in spec/resources.py. ERRATA.md L16: only a save that changes the stored values
RESTART_ON_SAVE = tuple(r.template for r in RESOURCES if r.has("restart"))

# ERRATA.md L16: the wired network identity, kept through a factory default and a configuration import
NETWORK_IDENTITY = (
    "/Network/Port",
    "/Network/Interfaces/1/IPAddress",
    "/Network/Interfaces/1/IPAddress/DHCP",
)
# ERRATA.md L15 + 9.2.4 DeviceInfo ("only <DeviceName> can be set"): what a factory default keeps besides the
# network identity: DeviceInfo but its DeviceName, the admin (users are reduced to ID 0, with its password), the
# installed firmware, the clock and the log
FACTORY_KEEPS = (*NETWORK_IDENTITY, "/System/DeviceInfo")
FACTORY_USERS = ("0",)  # ERRATA.md L15: "users are reduced to the admin (ID 0)"
DEVICE_INFO_WRITABLE = ("DeviceName",)  # 9.2.4: "only <DeviceName> can be set"

# -- limits --------------------------------------------------------------------------------------------------

# "The device supports up to 1000 log entries." (9.2.10): the maxOccurs of <Log> in the LogList block
_LOG = BLOCKS["LogList"].root.child("Log")
assert _LOG is not None and _LOG.max_occurs is not None
MAX_LOG_ENTRIES: int = _LOG.max_occurs

# 9.7.1.3 MotionRegionListV2: RegionX_0..RegionX_11, each a row of 14 cells (spec/blocks.py)
GRID_ROWS, GRID_COLUMNS = MOTION_ROWS, MOTION_COLUMNS

# -- streams -------------------------------------------------------------------------------------------------

# Chapter 8: "1. rtsp://ip:port/live/0/main 2. rtsp://ip:port/live/0/sub" (spec/streams.py), by StreamID
RTSP_PATHS: dict[int, str] = {s.stream_id: s.rtsp_path for s in (MAIN, SUB) if s.rtsp_path}

# -- timings (seconds, at time scale 1) ---------------------------------------------------------------------

# "The network configuration is stored asynchronously. Please leave at least 5 seconds between 2 configuration
# requests." (9.1)
NETWORK_SETTLE_S = 5.0

# "run the WifiParamTestStatus command 30 seconds after this command" (9.1.8 WifiParamTest)
WIFI_TEST_S = 30.0
# "Calibration takes 3 to 5 minutes" (9.12.1 Param1=103): the shortest and the longest
CALIBRATION_MIN_S, CALIBRATION_MAX_S = 180.0, 300.0
# "Alarm interval: event repetition time in case of continuous motion in seconds (default 300)" (9.13.2)
ALARM_INTERVAL_DEFAULT_S = 300
