# Turns schema/migrations/NNN_name.sql into a C++ table compiled into the core, so the native
# hub and the wasm module carry exactly the same migrations. Files apply in numeric order; the
# number is the schema version the file brings the database to.
file(GLOB files ${DIR}/*.sql)
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" num ${name})
  math(EXPR version "${num}")
  file(READ ${f} sql)
  # A raw string with a delimiter that SQL files never contain.
  string(APPEND body "  {${version}, \"${name}\", R\"tsmig(${sql})tsmig\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from schema/migrations by schema/embed_migrations.cmake. Do not edit.\n#include \"core/migrations.h\"\nnamespace tillsync {\nconst std::vector<Migration>& EmbeddedMigrations() {\n  static const std::vector<Migration> kMigrations = {\n${body}  };\n  return kMigrations;\n}\n}  // namespace tillsync\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
