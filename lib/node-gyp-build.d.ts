declare module 'node-gyp-build' {
  function load(dir: string): any;
  namespace load {
    function path(dir?: string): string;
  }
  export = load;
}
