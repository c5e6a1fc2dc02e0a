"""Message and service modules generated from proto/baton/v1 (do not edit the *_pb2* files)."""
