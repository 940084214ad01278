file(REMOVE_RECURSE
  "libossim.a"
)
