export { default as CallingExtensions, Constants, IFrameManager } from "@hubspot/calling-extensions-sdk";
