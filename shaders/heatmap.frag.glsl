// heatmap.frag.glsl: attention values (an R32F texture, one texel per cell) to
// colours, exactly as heatmap_to_rgba does on the CPU (app/heatmap.c):
//   t = clamp((v - vmin) / (vmax - vmin), 0, 1) ^ gamma, colour = lut[round(t * 255)]
// with masked cells (key after query) grey and NaN / Inf magenta. The lookup
// texture is the 256-entry colormap_table() of app/colormap.c.
#version 330 core
in vec2 v_cell;
uniform sampler2D u_values;
uniform sampler2D u_lut;
uniform float u_vmin;
uniform float u_vmax;
uniform float u_gamma;
uniform int u_mask_upper;
out vec4 frag;
void main() {
    ivec2 size = textureSize(u_values, 0);
    ivec2 c = clamp(ivec2(floor(v_cell)), ivec2(0), size - 1);
    if (u_mask_upper != 0 && c.x > c.y) {
        frag = vec4(vec3(230.0 / 255.0), 1.0);
        return;
    }
    float v = texelFetch(u_values, c, 0).r;
    if (isnan(v) || isinf(v)) {
        frag = vec4(1.0, 0.0, 1.0, 1.0);
        return;
    }
    float t = u_vmax > u_vmin ? (v - u_vmin) / (u_vmax - u_vmin) : (v > u_vmin ? 1.0 : 0.0);
    t = clamp(t, 0.0, 1.0);
    if (u_gamma > 0.0 && u_gamma != 1.0) t = pow(t, u_gamma);
    int i = int(floor(t * 255.0 + 0.5));
    frag = vec4(texelFetch(u_lut, ivec2(i, 0), 0).rgb, 1.0);
}
