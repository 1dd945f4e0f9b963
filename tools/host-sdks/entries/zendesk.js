export { default as ZAFClient } from "zendesk_app_framework_sdk";
