#!/usr/bin/env bash
# check_layout.sh [ROOT]: the house rules of the source tree (README, "How it is built").
#   1. model/ includes nothing outside model/ (dependencies point down: app -> gpu -> model)
#   2. gpu/ includes nothing from app/
#   3. only app/render/ calls SDL video or OpenGL (everything else speaks in rectangles,
#      text and textures; figure/ may use SDL surfaces and SDL_ttf off-screen)
#   4. no source file's name ends in a digit (views2.c): a file is named for what it holds
# Prints every violation with its file and line; exit status 1 if there is any.
set -u
root=${1:-.}
cd "$root" || exit 2
bad=0
say() { echo "check-layout: $*"; bad=1; }

# 1 and 2: every quoted include must resolve inside the allowed folders
check_includes() {   # folder, allowed roots (space-separated)
  local dir=$1; shift
  local allowed="$*"
  while IFS= read -r hit; do
    file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}
    inc=$(sed -n "${line}p" "$file" | sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
    [ -z "$inc" ] && continue
    case "$inc" in *..*) say "$file:$line includes \"$inc\" (no ../ paths)"; continue;; esac
    ok=0
    for a in $(dirname "$file") $allowed; do [ -f "$a/$inc" ] && ok=1 && break; done
    [ $ok = 1 ] || say "$file:$line includes \"$inc\", which is not under ${allowed// / or }/"
  done < <(grep -rn --include='*.c' --include='*.h' --include='*.cu' --include='*.cuh' \
             -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir" 2>/dev/null)
}
check_includes model model
check_includes gpu gpu model

# 3: SDL video and GL outside the renderer
pat='SDL_Init\b|SDL_CreateWindow|SDL_GL_|SDL_(Poll|Wait)Event|Clipboard|SDL_CreateRenderer|\bgl[A-Z][A-Za-z0-9]*\(|epoxy/|SDL_opengl'
while IFS= read -r hit; do
  say "${hit%%:*}:$(echo "$hit" | cut -d: -f2) calls SDL video or GL outside app/render/"
done < <(grep -rnE --include='*.c' --include='*.h' --include='*.cu' "$pat" app model gpu \
           | grep -v '^app/render/' | grep -vE ':[0-9]+:\s*(/\*|\*|//)')

# 4: names ending in a digit
while IFS= read -r f; do
  say "$f: a file name ends in a digit (name it for what it holds)"
done < <(find app model gpu tests shaders -type f \
           \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' -o -name '*.py' \
              -o -name '*.mjs' -o -name '*.sh' -o -name '*.glsl' -o -name '*.vert' -o -name '*.frag' \) \
           2>/dev/null | grep -E '/[^/]*[0-9]\.[^./]+$')

[ $bad = 0 ] && echo "check-layout: ok (model/ self-contained, gpu/ below app/, SDL video and GL only in app/render/, no numbered files)"
exit $bad
