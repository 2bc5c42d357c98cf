// Shared by the build and the size check, so both measure the same output.
export const target = ['es2019', 'chrome80', 'firefox78', 'safari13'];
// Private members are named _likeThis; minified builds shorten them.
export const mangle = { mangleProps: /^_[a-z]/, reserveProps: /^__/ };
// rrweb's license asks for its notice in copies: say where it is.
export const rrwebBanner = '/*! includes rrweb, MIT License: https://github.com/rrweb-io/rrweb/blob/master/LICENSE */';
