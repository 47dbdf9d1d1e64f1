"""The B-View 2 wire protocol without I/O, shared by the kit and the reference camera (in the manner of h11).

Rule 1: no sockets, no threads, no files: message models, codecs and parsers only; each side adds its own
        transport and its own behaviour (the kit in `pytest_bview/`, the camera in `pytest_bview/simulator/`).
Rule 2: depends on `pytest_bview/spec/` and libraries alone; nothing here imports the kit or the camera.

Modules: `xmlblocks` (XML blocks <-> documents, spec 6.1), `discovery` (Discovery V2 messages, chapter 10, and
SSDP messages, chapter 5), `digest` (HTTP/RTSP authentication, RFC 2617), `audio` (G.711 mu-law, 9.8).
"""
