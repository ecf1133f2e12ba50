// Types for adversarialLines.mjs.
export declare function adversarialLines(): { name: string; line: string }[];
