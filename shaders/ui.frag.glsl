// ui.frag.glsl: the glyph atlas holds coverage in its red channel (and a white
// texel that solid shapes sample), multiplied by the vertex colour.
#version 330 core
in vec2 v_uv;
in vec4 v_color;
uniform sampler2D u_atlas;
out vec4 frag;
void main() {
    frag = vec4(v_color.rgb, v_color.a * texture(u_atlas, v_uv).r);
}
