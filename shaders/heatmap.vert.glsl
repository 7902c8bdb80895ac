// heatmap.vert.glsl: one quad per heatmap; a_cell is the position in cell units
// (x = column = key, y = row = query) that the fragment shader looks up.
#version 330 core
layout(location = 0) in vec2 a_pos;
layout(location = 1) in vec2 a_cell;
uniform vec2 u_size;
out vec2 v_cell;
void main() {
    v_cell = a_cell;
    gl_Position = vec4(a_pos.x / u_size.x * 2.0 - 1.0, 1.0 - a_pos.y / u_size.y * 2.0, 0.0, 1.0);
}
