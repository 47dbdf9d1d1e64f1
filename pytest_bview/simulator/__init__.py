"""The reference camera: a conformant B-View 2 device, runnable as `bview-sim`."""

# The product string of every protocol the camera speaks (HTTP and RTSP `Server`), so both name one product
PRODUCT = "B-View reference camera"
